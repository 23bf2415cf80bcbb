//! HTTPS with `server.tls_cert`/`tls_key`: a real handshake, and a client that connects and
//! stalls does not hold up others.

use std::sync::Arc;

use photox::app::{App, AppState};
use photox::config::{Config, Overrides};
use photox::tls::{load_server_config, TlsAcceptor};
use poem::listener::{Acceptor, Listener, TcpListener};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

async fn https_get(port: u16, ca: &CertificateDer<'static>, path: &str) -> String {
    let mut roots = RootCertStore::empty();
    roots.add(ca.clone()).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tls.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn serves_https_and_a_stalled_client_does_not_block_others() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();

    let mut config = Config::default();
    config.storage.data_dir = dir.path().join("data");
    config.server.tls_cert = Some(cert_path.clone());
    config.server.tls_key = Some(key_path.clone());
    config.validate().unwrap();
    let tls = load_server_config(&cert_path, &key_path).unwrap();
    let state = AppState::open(config, None, Overrides::default()).unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .unwrap();
    let port = tcp.local_addr()[0].as_socket_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(
        App::new(state).serve(TlsAcceptor::new(tcp, tls), async move {
            let _ = stopped.await;
        }),
    );

    // A client that connects and never sends a byte. If it held up the acceptor, the next
    // handshake would wait for the server's handshake limit (10 s) to cut it off; the request
    // below gives up well before that, so this test fails if stalled clients block others.
    let _stalled = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let ca = cert.cert.der().clone();
    let within = std::time::Duration::from_secs(5);
    let response = tokio::time::timeout(within, https_get(port, &ca, "/health"))
        .await
        .expect("a stalled client held up the next one");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#"{"status":"OK"}"#), "{response}");
    let info = https_get(port, &ca, "/api/v1").await;
    assert!(info.contains(r#""name":"photox""#), "{info}");

    // Plain HTTP to the TLS port gets no HTTP answer.
    let mut plain = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    plain
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = plain.read_to_end(&mut buf).await;
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
    let _ = stop.send(());
}

#[test]
fn bad_certificate_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, "not a certificate").unwrap();
    let err = load_server_config(&cert, &dir.path().join("missing.pem")).unwrap_err();
    assert!(err.contains("server.tls_cert"), "{err}");
    let mut config = Config::default();
    config.server.tls_cert = Some(cert);
    assert!(config
        .validate()
        .unwrap_err()
        .to_string()
        .contains("together"));
}
