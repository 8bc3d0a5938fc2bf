//! Users, password hashes, SASL mechanisms and login throttling.
