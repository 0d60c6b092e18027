//! Reading a response body with a byte limit the caller states.
//!
//! A server decides how much it sends; imglife decides how much it reads.
//! The body is read chunk by chunk and the read stops as soon as the limit
//! is passed, so memory stays bounded whatever `Content-Length` says (and a
//! `Content-Length` above the limit ends the read before the first byte).

/// Why a body was not read whole.
#[derive(Debug)]
pub enum BodyError {
    /// More than `limit` bytes: `seen` were announced or read before the
    /// read stopped.
    TooLarge { limit: usize, seen: u64 },
    /// The connection failed while reading.
    Transport(reqwest::Error),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge { limit, seen } => write!(
                f,
                "larger than the limit of {} ({} or more)",
                bytes(*limit as u64),
                bytes(*seen)
            ),
            Self::Transport(e) => write!(f, "{}", crate::Cause::of(e)),
        }
    }
}

/// A size for people: `1 MiB`, `1536 bytes`.
pub fn bytes(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= MIB {
        format!("{:.1} MiB", n as f64 / MIB as f64)
    } else {
        format!("{n} bytes")
    }
}

/// The whole body, if it is at most `limit` bytes.
pub async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    let declared = response.content_length();
    if let Some(length) = declared.filter(|n| *n > limit as u64) {
        return Err(BodyError::TooLarge {
            limit,
            seen: length,
        });
    }
    // Never sized by the header alone: a small start, grown as bytes come.
    let start = declared.map_or(8 * 1024, |n| n as usize).min(64 * 1024);
    let mut body = Vec::with_capacity(start);
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge {
                limit,
                seen: (body.len() + chunk.len()) as u64,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers one request on 127.0.0.1 with `head`, then `body_chunks`
    /// chunks of 64 KiB (chunked encoding), then closes.
    fn serve_once(head: &'static str, body_chunks: usize) -> String {
        use std::io::{Read as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        std::thread::spawn(move || {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(head.as_bytes());
            let chunk = vec![b'x'; 64 * 1024];
            for _ in 0..body_chunks {
                let framed =
                    [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
                if stream.write_all(&framed).is_err() {
                    return; // the client stopped reading, as it should
                }
            }
            let _ = stream.write_all(b"0\r\n\r\n");
        });
        format!("http://{address}/")
    }

    async fn get(url: &str) -> reqwest::Response {
        let client = crate::client(&crate::ClientOptions::new(
            crate::Transport::PlainOnly,
            std::time::Duration::from_secs(5),
        ))
        .expect("client");
        client.get(url).send().await.expect("answer")
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_refused_before_reading() {
        let url = serve_once("HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n", 0);
        match read_limited(get(&url).await, 1024).await {
            Err(BodyError::TooLarge { limit, seen }) => {
                assert_eq!((limit, seen), (1024, 1 << 30));
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn an_endless_body_stops_just_past_the_limit() {
        // 1 GiB offered in chunks; the read stops after about 1 MiB.
        let url = serve_once(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            16 * 1024,
        );
        match read_limited(get(&url).await, 1024 * 1024).await {
            Err(e @ BodyError::TooLarge { .. }) => {
                let BodyError::TooLarge { seen, .. } = e else {
                    unreachable!()
                };
                assert!(
                    seen > 1024 * 1024 && seen <= 1024 * 1024 + 64 * 1024,
                    "{seen}"
                );
                assert!(e.to_string().contains("limit of 1 MiB"), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_body_within_the_limit_is_read_whole() {
        let url = serve_once("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 3);
        let body = read_limited(get(&url).await, 192 * 1024)
            .await
            .expect("read");
        assert_eq!(body.len(), 192 * 1024);
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(bytes(1024 * 1024), "1 MiB");
        assert_eq!(bytes(4 * 1024 * 1024), "4 MiB");
        assert_eq!(bytes(1536 * 1024), "1.5 MiB");
        assert_eq!(bytes(200), "200 bytes");
    }
}
