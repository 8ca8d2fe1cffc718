//! Reading certificate and key files (PEM), including encrypted PKCS#8 keys.

use super::TlsError;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::Path;

/// Reads a text file, mapping "not found" to [`TlsError::FileMissing`] with `fix`.
pub(crate) fn read_file(path: &Path, what: &str, fix: &str) -> Result<String, TlsError> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| TlsError::BadFile {
            path: path.to_path_buf(),
            what: what.into(),
            reason: "it is not PEM text (binary DER?); convert it with `openssl x509 -inform der -in FILE -out FILE.pem`"
                .into(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(TlsError::FileMissing { path: path.to_path_buf(), what: what.into(), fix: fix.into() })
        }
        Err(e) => Err(TlsError::BadFile {
            path: path.to_path_buf(),
            what: what.into(),
            reason: format!("{e}; check the file permissions (the server user must be able to read it)"),
        }),
    }
}

/// All `CERTIFICATE` blocks of a PEM text, in order. At least one is required.
pub(crate) fn read_certificates_pem(
    text: &str,
    path: &Path,
    what: &str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let mut certs = Vec::new();
    for item in rustls_pemfile::certs(&mut text.as_bytes()) {
        let cert = item.map_err(|e| TlsError::BadFile {
            path: path.to_path_buf(),
            what: what.into(),
            reason: format!("a CERTIFICATE block is corrupt ({e}); re-export the certificate"),
        })?;
        certs.push(cert);
    }
    if certs.is_empty() {
        return Err(TlsError::BadFile {
            path: path.to_path_buf(),
            what: what.into(),
            reason: "it holds no `-----BEGIN CERTIFICATE-----` block; give the PEM certificate (chain) file".into(),
        });
    }
    Ok(certs)
}

/// The private key in a PEM text, if any. Handles PKCS#8, PKCS#1 (RSA) and SEC1
/// (EC) keys, and encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`) unlocked by `password`.
pub(crate) fn read_private_key(
    text: &str,
    path: &Path,
    password: Option<&str>,
) -> Result<Option<PrivateKeyDer<'static>>, TlsError> {
    if let Some(block) = pem_block(text, "ENCRYPTED PRIVATE KEY") {
        let Some(password) = password else {
            return Err(TlsError::PasswordRequired {
                path: path.to_path_buf(),
            });
        };
        return decrypt_pkcs8(block, path, password).map(Some);
    }
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(TlsError::BadFile {
            path: path.to_path_buf(),
            what: "private key".into(),
            reason: "it uses the legacy OpenSSL key encryption, which is not supported; convert it to encrypted \
                     PKCS#8 with `openssl pkcs8 -topk8 -v2 aes256 -in OLD.key -out NEW.key` (or decrypt it with \
                     `openssl pkey -in OLD.key -out NEW.key`)"
                .into(),
        });
    }
    rustls_pemfile::private_key(&mut text.as_bytes()).map_err(|e| TlsError::BadFile {
        path: path.to_path_buf(),
        what: "private key".into(),
        reason: format!("the private key block is corrupt ({e}); re-export the key"),
    })
}

fn decrypt_pkcs8(
    block: &str,
    path: &Path,
    password: &str,
) -> Result<PrivateKeyDer<'static>, TlsError> {
    let corrupt = |e: &dyn std::fmt::Display| TlsError::BadFile {
        path: path.to_path_buf(),
        what: "private key".into(),
        reason: format!("the ENCRYPTED PRIVATE KEY block is corrupt ({e}); re-export the key"),
    };
    let (_, document) = pkcs8::der::Document::from_pem(block).map_err(|e| corrupt(&e))?;
    let info =
        pkcs8::EncryptedPrivateKeyInfo::try_from(document.as_bytes()).map_err(|e| corrupt(&e))?;
    let secret = info.decrypt(password.as_bytes()).map_err(|e| match e {
        pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::UnsupportedAlgorithm { .. }) => TlsError::BadFile {
            path: path.to_path_buf(),
            what: "private key".into(),
            reason: "its encryption algorithm is not supported; re-encrypt it with `openssl pkcs8 -topk8 -v2 aes256`"
                .into(),
        },
        _ => TlsError::WrongPassword { path: path.to_path_buf() },
    })?;
    // A wrong password occasionally decrypts to well-padded garbage: check the result parses.
    if pkcs8::PrivateKeyInfo::try_from(secret.as_bytes()).is_err() {
        return Err(TlsError::WrongPassword {
            path: path.to_path_buf(),
        });
    }
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        secret.as_bytes().to_vec(),
    )))
}

/// The first `-----BEGIN label-----` ... `-----END label-----` block of `text`.
fn pem_block<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)?;
    let stop = text[start..].find(&end)? + start + end.len();
    Some(&text[start..stop])
}
