//! TLS for connections to PostgreSQL: the URL's `sslmode` and `sslrootcert`, read as libpq
//! reads them, made into a rustls client (the TLS stack reqwest already brings), so that
//! newsvault needs no system OpenSSL.
//!
//! - no `sslmode`, `disable`, `allow`, `prefer`: no TLS. (libpq's `prefer` tries TLS first;
//!   here it does not, so that a server with a self-signed certificate, as Debian's default
//!   one is, keeps working as before. Ask for TLS with `require` or stricter.)
//! - `require`: TLS; the certificate is checked only when `sslrootcert` names the CA
//!   that must have signed it (as with libpq), else any certificate is accepted: the
//!   connection is private from listeners but not from an impostor.
//! - `verify-ca`: TLS with a certificate signed by a trusted CA (`sslrootcert`, else the
//!   system's roots), whatever host name it is for.
//! - `verify-full`: as `verify-ca`, and the certificate must be for the host connected to.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// What the URL asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Plain,
    Require,
    VerifyCa,
    VerifyFull,
}

/// The URL's TLS settings, and the URL without them for tokio-postgres (which knows
/// neither `sslrootcert` nor the `verify-*` modes).
#[derive(Debug)]
pub(super) struct Settings {
    pub url: String,
    pub mode: Mode,
    pub root_cert: Option<PathBuf>,
}

impl Settings {
    /// The mode tokio-postgres is configured with.
    pub(super) fn ssl_mode(&self) -> SslMode {
        match self.mode {
            Mode::Plain => SslMode::Disable,
            _ => SslMode::Require,
        }
    }
}

/// Reads `sslmode` and `sslrootcert` from a `postgres://` URL; an error names a value it
/// does not know.
pub(super) fn settings(url: &str) -> Result<Settings, String> {
    let Ok(mut parsed) = url::Url::parse(url) else {
        // Left to tokio-postgres, which says what is wrong with it.
        return Ok(Settings {
            url: url.to_string(),
            mode: Mode::Plain,
            root_cert: None,
        });
    };
    let mut mode = Mode::Plain;
    let mut root_cert = None;
    let mut kept = Vec::new();
    for (key, value) in parsed.query_pairs() {
        match key.as_ref() {
            "sslmode" => {
                mode = match value.as_ref() {
                    "disable" | "allow" | "prefer" => Mode::Plain,
                    "require" => Mode::Require,
                    "verify-ca" => Mode::VerifyCa,
                    "verify-full" => Mode::VerifyFull,
                    other => {
                        return Err(format!(
                            "sslmode {other:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                        ));
                    }
                }
            }
            "sslrootcert" => root_cert = Some(PathBuf::from(value.as_ref())),
            _ => kept.push((key.into_owned(), value.into_owned())),
        }
    }
    if kept.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(kept);
    }
    // `require` with a CA to check against is `verify-ca`, as in libpq.
    if mode == Mode::Require && root_cert.is_some() {
        mode = Mode::VerifyCa;
    }
    Ok(Settings {
        url: parsed.to_string(),
        mode,
        root_cert,
    })
}

/// The trusted CAs: the certificates of the `sslrootcert` file, else the system's.
fn roots(root_cert: Option<&Path>) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    match root_cert {
        Some(path) => {
            let certificates = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            let (added, _) = roots.add_parsable_certificates(certificates);
            if added == 0 {
                return Err(format!(
                    "sslrootcert {}: no usable certificate in it",
                    path.display()
                ));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err(format!(
                    "no trusted CA certificates found on this system ({} errors); name one with sslrootcert",
                    found.errors.len()
                ));
            }
        }
    }
    Ok(roots)
}

/// The TLS connector for `settings`, or `None` for a plain connection.
pub(super) fn connector(settings: &Settings) -> Result<Option<MakeRustlsConnect>, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?;
    let config = match settings.mode {
        Mode::Plain => return Ok(None),
        Mode::VerifyFull => builder
            .with_root_certificates(roots(settings.root_cert.as_deref())?)
            .with_no_client_auth(),
        Mode::VerifyCa => {
            let verifier = WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots(settings.root_cert.as_deref())?),
                Arc::clone(&provider),
            )
            .build()
            .map_err(|e| format!("TLS set-up: {e}"))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyHostName(verifier)))
                .with_no_client_auth()
        }
        Mode::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth(),
    };
    Ok(Some(MakeRustlsConnect::new(config)))
}

/// `verify-ca`: the chain must lead to a trusted CA; the host name is not checked.
#[derive(Debug)]
struct AnyHostName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `require` without a CA: any certificate; the handshake's signatures are still checked
/// against it, so the session is with whoever holds that certificate's key.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tls_parameters_are_read_and_taken_out_of_the_url() {
        let s = settings("postgres://u@db.example:5432/news?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x")
            .expect("valid");
        assert_eq!(s.mode, Mode::VerifyFull);
        assert_eq!(s.root_cert.as_deref(), Some(Path::new("/etc/ca.pem")));
        assert_eq!(
            s.url,
            "postgres://u@db.example:5432/news?application_name=x"
        );
        let s = settings("postgres://u@db.example/news?sslmode=require&sslrootcert=ca.pem")
            .expect("valid");
        assert_eq!(s.mode, Mode::VerifyCa, "require with a CA checks the chain");
        assert_eq!(s.url, "postgres://u@db.example/news");
        let s = settings("postgres://u@db.example/news?sslmode=prefer").expect("valid");
        assert_eq!((s.mode, s.ssl_mode()), (Mode::Plain, SslMode::Disable));
        assert!(settings("postgres://u@db.example/news?sslmode=always").is_err());
    }
}
