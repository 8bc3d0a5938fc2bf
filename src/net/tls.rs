//! TLS server configuration: PEM certificate and key, reloaded when the files change.
