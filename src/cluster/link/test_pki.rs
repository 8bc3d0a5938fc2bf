//! A throwaway cluster CA and node certificates for tests, made with rcgen and written as PEM
//! files the way an operator's PKI (or cert-manager) would provide them.
//!
//! Depends on nothing but rcgen and std, so the end-to-end tests include this same file
//! (`tests/e2e.rs`) instead of keeping a copy.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// A certificate authority that signs node certificates.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// Where one node's files were written.
#[derive(Debug, Clone)]
pub struct NodeFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

impl TestCa {
    /// A new self-signed CA named `name`.
    ///
    /// # Panics
    /// If rcgen fails (test helper).
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("CA key");
        TestCa {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA certificate"),
        }
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A node certificate (PEM chain, PEM key) valid for `names` (DNS names or IP addresses),
    /// for both server and client authentication, as node links need.
    ///
    /// # Panics
    /// If a name is invalid or rcgen fails (test helper).
    pub fn node(&self, names: &[&str]) -> (String, String) {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("node params");
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().cloned().unwrap_or_default(),
        );
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate().expect("node key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("node certificate");
        (cert.pem(), key.serialize_pem())
    }

    /// Writes a certificate for `names`, its key and this CA as `<stem>.crt`, `<stem>.key` and
    /// `ca.pem` under `dir`.
    ///
    /// # Panics
    /// If a file cannot be written (test helper).
    pub fn write_node(&self, dir: &Path, stem: &str, names: &[&str]) -> NodeFiles {
        let (cert, key) = self.node(names);
        let files = NodeFiles {
            cert: dir.join(format!("{stem}.crt")),
            key: dir.join(format!("{stem}.key")),
            ca: dir.join("ca.pem"),
        };
        std::fs::write(&files.cert, cert).expect("write certificate");
        std::fs::write(&files.key, key).expect("write key");
        std::fs::write(&files.ca, self.pem()).expect("write CA");
        files
    }
}
