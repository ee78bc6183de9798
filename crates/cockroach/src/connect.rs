//! Connection URLs and TLS for pgwire.
//!
//! A CockroachDB connection URL, as `cockroach sql --url` takes it:
//! `postgresql://USER[:PASSWORD]@HOST[:PORT][,HOST2…]/DB?sslmode=verify-full&sslrootcert=ca.crt&sslcert=client.USER.crt&sslkey=client.USER.key`.
//! The `ssl*` parameters are handled here (the pgwire client knows only `disable`, `prefer` and
//! `require`); everything else goes to the client as it is.
//!
//! | `sslmode` | TLS | server certificate |
//! |---|---|---|
//! | `disable` | never | — |
//! | `allow`, `prefer` (the default) | when the server offers it | not checked |
//! | `require` | always | not checked; checked against `sslrootcert` when given (as libpq does) |
//! | `verify-ca` | always | signed by `sslrootcert` |
//! | `verify-full` | always | signed by `sslrootcert` and issued for the host name |
//!
//! `sslcert` + `sslkey` add a client certificate (CockroachDB's certificate authentication).
//! The password never appears in [`ConnectionUrl`]'s `Display`/`Debug` nor in any error.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::task::{Context, Poll};

use percent_encoding::percent_decode_str;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

use super::error::CockroachError;
use thinledger_store::{REDACTED, Secret, scrub};
use thinledger_topology::error_chain;

/// How strictly the server is checked (`sslmode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsMode {
    /// `disable`.
    Disable,
    /// `allow` / `prefer`.
    Prefer,
    /// `require`.
    Require,
    /// `verify-ca`.
    VerifyCa,
    /// `verify-full`.
    VerifyFull,
}

impl FromStr for TlsMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "disable" => Ok(TlsMode::Disable),
            "allow" | "prefer" => Ok(TlsMode::Prefer),
            "require" => Ok(TlsMode::Require),
            "verify-ca" => Ok(TlsMode::VerifyCa),
            "verify-full" => Ok(TlsMode::VerifyFull),
            other => Err(other.to_owned()),
        }
    }
}

/// A parsed connection URL. `Display` and `Debug` show it without the password.
#[derive(Clone)]
pub struct ConnectionUrl {
    config: tokio_postgres::Config,
    mode: TlsMode,
    root_cert: Option<String>,
    client_cert: Option<String>,
    client_key: Option<String>,
    redacted: String,
}

impl ConnectionUrl {
    /// Parses a `postgres://` / `postgresql://` URL.
    pub fn parse(url: &str) -> Result<Self, CockroachError> {
        let url = url.trim();
        let scheme_ok = url.starts_with("postgresql://") || url.starts_with("postgres://");
        // Until parsed, the only safe thing to show is the scheme.
        let early_target = url.split("://").next().unwrap_or("").to_owned() + "://…";
        if !scheme_ok {
            return Err(CockroachError::Config {
                target: early_target,
                message: "a connection URL starts with postgresql:// (or postgres://)".to_owned(),
                fix: "e.g. postgresql://root@cockroachdb-public:26257/defaultdb?sslmode=verify-full&sslrootcert=certs/ca.crt".to_owned(),
            });
        }
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut kept = Vec::new();
        let mut mode = TlsMode::Prefer;
        let (mut root_cert, mut client_cert, mut client_key) = (None, None, None);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decoded = percent_decode_str(value).decode_utf8_lossy().into_owned();
            match key {
                "sslmode" => {
                    mode = decoded.parse().map_err(|bad: String| CockroachError::Config {
                        target: early_target.clone(),
                        message: format!("sslmode {bad:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"),
                        fix: "use sslmode=verify-full with sslrootcert for a secure cluster".to_owned(),
                    })?;
                }
                "sslrootcert" => root_cert = Some(decoded),
                "sslcert" => client_cert = Some(decoded),
                "sslkey" => client_key = Some(decoded),
                _ => kept.push(pair),
            }
        }
        let rest = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let mut config =
            tokio_postgres::Config::from_str(&rest).map_err(|e| CockroachError::Config {
                target: early_target.clone(),
                // The parser's messages name options, never values; scrub anyway.
                message: scrub(&error_chain(&e), &password_of(url)),
                fix: "check the URL's form: postgresql://user@host:port/database?option=value"
                    .to_owned(),
            })?;
        config.ssl_mode(match mode {
            TlsMode::Disable => SslMode::Disable,
            TlsMode::Prefer => SslMode::Prefer,
            _ => SslMode::Require,
        });
        let redacted = redact(&config, mode);
        if client_cert.is_some() != client_key.is_some() {
            return Err(CockroachError::Config {
                target: redacted,
                message: "sslcert and sslkey go together".to_owned(),
                fix: "give both the client certificate and its key, e.g. sslcert=certs/client.root.crt&sslkey=certs/client.root.key".to_owned(),
            });
        }
        if matches!(mode, TlsMode::VerifyCa | TlsMode::VerifyFull) && root_cert.is_none() {
            return Err(CockroachError::Config {
                target: redacted,
                message: "sslmode=verify-ca/verify-full checks the server against a CA certificate, and none is given".to_owned(),
                fix: "add sslrootcert=<path to the cluster's ca.crt>".to_owned(),
            });
        }
        Ok(ConnectionUrl {
            config,
            mode,
            root_cert,
            client_cert,
            client_key,
            redacted,
        })
    }

    /// The URL without its password, for messages.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// The TLS mode.
    pub fn tls_mode(&self) -> TlsMode {
        self.mode
    }

    /// The password (if any) in the forms it could be echoed, for scrubbing.
    pub(crate) fn secrets(&self) -> Vec<Secret> {
        self.config
            .get_password()
            .map(|p| vec![Secret::new(String::from_utf8_lossy(p))])
            .unwrap_or_default()
    }

    pub(crate) fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// The TLS connector for this URL's settings (reads the certificate files).
    pub(crate) fn tls(&self) -> Result<MakeRustls, CockroachError> {
        let fail = |message: String, fix: &str| CockroachError::Config {
            target: self.redacted.clone(),
            message,
            fix: fix.to_owned(),
        };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| fail(format!("TLS setup: {e}"), "report this as a bug"))?;
        let roots = match &self.root_cert {
            Some(path) => {
                let mut roots = RootCertStore::empty();
                let certs = CertificateDer::pem_file_iter(path)
                    .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| {
                        fail(
                            format!("cannot read sslrootcert {path}: {e}"),
                            "point sslrootcert at the cluster's CA certificate (PEM), e.g. certs/ca.crt",
                        )
                    })?;
                let (added, _) = roots.add_parsable_certificates(certs);
                if added == 0 {
                    return Err(fail(
                        format!("sslrootcert {path} holds no usable certificate"),
                        "point sslrootcert at the cluster's CA certificate (PEM)",
                    ));
                }
                Some(Arc::new(roots))
            }
            None => None,
        };
        let verifier: Arc<dyn ServerCertVerifier> = match (self.mode, roots) {
            (TlsMode::VerifyFull, Some(roots)) => {
                WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                    .build()
                    .map_err(|e| fail(format!("TLS setup: {e}"), "check sslrootcert"))?
            }
            (TlsMode::VerifyCa | TlsMode::Require | TlsMode::Prefer, Some(roots)) => {
                Arc::new(RelaxedVerifier {
                    chain: Some(
                        WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                            .build()
                            .map_err(|e| fail(format!("TLS setup: {e}"), "check sslrootcert"))?,
                    ),
                    provider: provider.clone(),
                })
            }
            _ => Arc::new(RelaxedVerifier {
                chain: None,
                provider: provider.clone(),
            }),
        };
        let builder = builder
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match (&self.client_cert, &self.client_key) {
            (Some(cert), Some(key)) => {
                let chain = CertificateDer::pem_file_iter(cert)
                    .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| {
                        fail(
                            format!("cannot read sslcert {cert}: {e}"),
                            "point sslcert at the client certificate (PEM), e.g. certs/client.root.crt",
                        )
                    })?;
                let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                    fail(
                        format!("cannot read sslkey {key}: {e}"),
                        "point sslkey at the client key (PEM), e.g. certs/client.root.key",
                    )
                })?;
                builder.with_client_auth_cert(chain, key).map_err(|e| {
                    fail(
                        format!("the client certificate and key do not fit: {e}"),
                        "give the key that belongs to sslcert",
                    )
                })?
            }
            _ => builder.with_no_client_auth(),
        };
        Ok(MakeRustls(Arc::new(config)))
    }
}

fn password_of(url: &str) -> Vec<Secret> {
    // userinfo is between "://" and the last '@' before the path.
    let Some((_, rest)) = url.split_once("://") else {
        return Vec::new();
    };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let Some((userinfo, _)) = authority.rsplit_once('@') else {
        return Vec::new();
    };
    match userinfo.split_once(':') {
        Some((_, password)) if !password.is_empty() => vec![
            Secret::new(password),
            Secret::new(percent_decode_str(password).decode_utf8_lossy()),
        ],
        _ => Vec::new(),
    }
}

fn redact(config: &tokio_postgres::Config, mode: TlsMode) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let host = match h {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            };
            match config.get_ports().get(i).or(config.get_ports().first()) {
                Some(port) => format!("{host}:{port}"),
                None => host,
            }
        })
        .collect();
    let user = config.get_user().unwrap_or("");
    let password = if config.get_password().is_some() {
        format!(":{REDACTED}")
    } else {
        String::new()
    };
    let mode = match mode {
        TlsMode::Disable => "disable",
        TlsMode::Prefer => "prefer",
        TlsMode::Require => "require",
        TlsMode::VerifyCa => "verify-ca",
        TlsMode::VerifyFull => "verify-full",
    };
    format!(
        "postgresql://{user}{password}@{}/{}?sslmode={mode}",
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
}

impl FromStr for ConnectionUrl {
    type Err = CockroachError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ConnectionUrl::parse(s)
    }
}

impl fmt::Display for ConnectionUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl fmt::Debug for ConnectionUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnectionUrl({})", self.redacted)
    }
}

/// The server check below `verify-full`. With a CA (`chain`): the certificate chain against
/// it, but not the host name (`verify-ca`, and `prefer`/`require` given `sslrootcert`).
/// Without one: nothing about who the server is (`prefer`/`require` without a CA, as libpq
/// does). Either way the handshake's signatures are checked.
#[derive(Debug)]
struct RelaxedVerifier {
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for RelaxedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            // The chain is checked before the name, so this error means the chain is good.
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
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// tokio-postgres' TLS hook over tokio-rustls.
#[derive(Clone, Debug)]
pub(crate) struct MakeRustls(Arc<ClientConfig>);

impl<S> MakeTlsConnect<S> for MakeRustls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = rustls::pki_types::InvalidDnsNameError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, Self::Error> {
        Ok(RustlsConnect {
            config: self.0.clone(),
            name: ServerName::try_from(domain.to_owned())?,
        })
    }
}

#[derive(Debug)]
pub(crate) struct RustlsConnect {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

type ConnectFuture<S> = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = ConnectFuture<S>;

    fn connect(self, stream: S) -> Self::Future {
        let connector = tokio_rustls::TlsConnector::from(self.config);
        Box::pin(async move {
            let tls = connector.connect(self.name, stream).await?;
            Ok(RustlsStream(Box::new(tls)))
        })
    }
}

/// A TLS stream. No channel binding is offered: SCRAM works without it, and the binding's
/// hash depends on the certificate's signature algorithm, which is not worth parsing here.
#[derive(Debug)]
pub(crate) struct RustlsStream<S>(Box<tokio_rustls::client::TlsStream<S>>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(
        "postgresql://root:hunter2-secret@db-0.crdb:26257,db-1.crdb:26257/defaultdb?sslmode=disable&application_name=x",
        "postgresql://root:redacted@db-0.crdb:26257,db-1.crdb:26257/defaultdb?sslmode=disable"
    )]
    #[case(
        "postgres://backup@127.0.0.1/ledger",
        "postgresql://backup@127.0.0.1:5432/ledger?sslmode=prefer"
    )]
    fn urls_show_without_password(#[case] url: &str, #[case] shown: &str) {
        let parsed = ConnectionUrl::parse(url).unwrap();
        assert_eq!(parsed.to_string(), shown);
        assert!(!format!("{parsed:?}").contains("hunter2"));
    }

    #[rstest]
    #[case("mysql://root:hunter2-secret@h/db", "postgresql://")]
    #[case("postgresql://root:hunter2-secret@h/db?sslmode=bogus", "sslmode")]
    #[case(
        "postgresql://root:hunter2-secret@h/db?sslmode=verify-full",
        "sslrootcert"
    )]
    #[case("postgresql://root:hunter2-secret@h/db?sslcert=a.crt", "sslkey")]
    #[case("postgresql://root:hunter2-secret@h/db?frobnicate=1", "frobnicate")]
    fn bad_urls_are_explained_without_the_password(#[case] url: &str, #[case] needle: &str) {
        let err = ConnectionUrl::parse(url).unwrap_err().to_string();
        assert!(err.contains(needle), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn missing_certificate_files_are_named() {
        let url = ConnectionUrl::parse(
            "postgresql://root@h/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.crt",
        )
        .unwrap();
        let err = url.tls().unwrap_err().to_string();
        assert!(err.contains("/nonexistent/ca.crt"), "{err}");
    }

    #[test]
    fn password_is_found_for_scrubbing() {
        assert_eq!(
            password_of("postgresql://u:p%40ss@h/db"),
            vec![Secret::new("p%40ss"), Secret::new("p@ss")]
        );
        assert!(password_of("postgresql://u@h/db").is_empty());
    }
}
