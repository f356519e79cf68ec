//! The named choices of the configuration file (`tls_policy = "fapi"`): each default is the
//! variant marked `#[default]`.

use super::choice::config_choice;

config_choice! {
    /// Which of a domain's hosts a rate-limit rule applies on.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum RateHosts {
        Domain = "domain",
        Alias = "alias",
        #[default]
        Both = "both",
    }
}

config_choice! {
    /// Where rate-limit counters live.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum RateBackend {
        #[default]
        Local = "local",
        Redis = "redis",
    }
}

config_choice! {
    /// What the limiter does while Redis is slow or down.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum RedisFailMode {
        #[default]
        FailOpen = "fail_open",
        FailClosed = "fail_closed",
    }
}

config_choice! {
    /// The TLS versions and cipher suites offered.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum TlsPolicy {
        /// TLS 1.2 and 1.3 with the provider's modern suites.
        #[default]
        Recommended = "recommended",
        /// FAPI 1 Advanced: TLS 1.3, or TLS 1.2 with ECDHE_RSA AES-GCM only and extended master secret.
        Fapi = "fapi",
    }
}

config_choice! {
    /// Which certificates of a chain ending at this CA are checked against the CRLs.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
    pub enum RevocationDepth {
        /// Every certificate in the chain (leaf and intermediates).
        #[default]
        Chain = "chain",
        /// The leaf only.
        Leaf = "leaf",
    }
}

config_choice! {
    /// A CRL past its nextUpdate.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum StaleCrlPolicy {
        /// Fail closed: certificates it covers are treated as revoked (see `revoked`).
        #[default]
        Enforce = "enforce",
        /// Keep using it; a warning is logged at load and the nextUpdate metric lets alerts fire.
        Warn = "warn",
    }
}

config_choice! {
    /// A client certificate listed on a CRL.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum RevokedPolicy {
        /// Refuse in the handshake (`certificate_revoked` alert).
        #[default]
        Reject = "reject",
        /// Forward with `FAILED:certificate revoked`.
        Flag = "flag",
    }
}

config_choice! {
    /// A chain certificate whose issuer has no configured CRL.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum CrlMissingPolicy {
        /// Treat its status as good (only issuers with a CRL are checked).
        #[default]
        Allow = "allow",
        /// Treat it like a revoked certificate.
        Deny = "deny",
    }
}

config_choice! {
    /// What the alias does with a certificate the registry does not list.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum EdgePolicy {
        /// Verify, flag and forward every certificate; the provider decides.
        #[default]
        ForwardAll = "forward_all",
        /// A certificate matching no registry entry is refused with 401 before any upstream call.
        Registered = "registered",
    }
}

config_choice! {
    /// A self-signed client certificate.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum SelfSignedPolicy {
        /// Accept, prove key possession, forward with `FAILED:self-signed certificate`.
        #[default]
        Flag = "flag",
        /// Refuse in the handshake (`unknown_ca` alert).
        Reject = "reject",
    }
}

config_choice! {
    /// A request on the alias without a client certificate.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum NoCertificatePolicy {
        /// 401 `invalid_client` JSON.
        #[default]
        Reject = "reject",
        /// Forward without certificate headers; the provider decides.
        Forward = "forward",
    }
}
