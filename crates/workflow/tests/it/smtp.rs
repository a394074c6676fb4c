//! A real SMTP receiver on 127.0.0.1:0, speaking enough SMTP for lettre: it keeps every
//! message, can answer DATA with a temporary failure, or hang in DATA (a server that stalls
//! while the worker waits — the moment a worker is killed in the tests).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, Notify};

/// One message as received.
#[derive(Clone, Debug)]
pub struct Received {
    pub rcpt: Vec<String>,
    pub data: String,
}

impl Received {
    /// A header's value (unfolded, RFC 2047 `=?utf-8?b?…?=` words decoded).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.split("\r\n").find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| decode_words(v.trim()))
        })
    }

    /// The body, decoded from base64 or quoted-printable when the message says so.
    pub fn body(&self) -> String {
        let raw = self.data.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
        match self.header("Content-Transfer-Encoding").map(|e| e.to_ascii_lowercase()) {
            Some(e) if e == "base64" => {
                let compact: String = raw.split_whitespace().collect();
                String::from_utf8_lossy(
                    &base64::engine::general_purpose::STANDARD
                        .decode(compact)
                        .unwrap_or_default(),
                )
                .into_owned()
            }
            Some(e) if e == "quoted-printable" => decode_qp(raw),
            _ => raw.to_string(),
        }
    }
}

fn decode_words(v: &str) -> String {
    let mut out = String::new();
    // Whitespace between two encoded words is dropped (RFC 2047 §6.2); elsewhere it stays.
    let mut last_encoded = false;
    for part in v.split_whitespace() {
        let lower = part.to_ascii_lowercase();
        let decoded = if lower.starts_with("=?utf-8?b?") && part.ends_with("?=") {
            let inner = &part[10..part.len() - 2];
            Some(
                String::from_utf8_lossy(
                    &base64::engine::general_purpose::STANDARD
                        .decode(inner)
                        .unwrap_or_default(),
                )
                .into_owned(),
            )
        } else if lower.starts_with("=?utf-8?q?") && part.ends_with("?=") {
            Some(decode_qp(&part[10..part.len() - 2].replace('_', " ")))
        } else {
            None
        };
        let both_encoded = last_encoded && decoded.is_some();
        if !out.is_empty() && !both_encoded {
            out.push(' ');
        }
        last_encoded = decoded.is_some();
        out.push_str(&decoded.unwrap_or_else(|| part.to_string()));
    }
    out
}

fn decode_qp(s: &str) -> String {
    let s = s.replace("=\r\n", "");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Some(b) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How the receiver answers the end of DATA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Accept,
    /// `451` (try again later).
    TempFail,
    /// Read the message, then never answer.
    Hang,
}

/// The receiver.
#[derive(Clone)]
pub struct SmtpReceiver {
    pub port: u16,
    messages: Arc<Mutex<Vec<Received>>>,
    mode: Arc<Mutex<Mode>>,
    /// Signalled when a message's data was read (before the answer).
    pub data_read: Arc<Notify>,
    pub conversations: Arc<AtomicUsize>,
}

impl SmtpReceiver {
    /// Starts listening.
    pub async fn start() -> SmtpReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
        let port = listener.local_addr().expect("addr").port();
        let r = SmtpReceiver {
            port,
            messages: Arc::default(),
            mode: Arc::new(Mutex::new(Mode::Accept)),
            data_read: Arc::new(Notify::new()),
            conversations: Arc::default(),
        };
        let me = r.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let me = me.clone();
                tokio::spawn(async move {
                    let _ = me.converse(sock).await;
                });
            }
        });
        r
    }

    /// Sets how DATA is answered from now on.
    pub async fn set_mode(&self, m: Mode) {
        *self.mode.lock().await = m;
    }

    /// Messages accepted so far.
    pub async fn messages(&self) -> Vec<Received> {
        self.messages.lock().await.clone()
    }

    async fn converse(&self, sock: tokio::net::TcpStream) -> std::io::Result<()> {
        self.conversations.fetch_add(1, Ordering::SeqCst);
        let (read, mut write) = sock.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 test.local ESMTP\r\n").await?;
        let mut rcpt = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let cmd = line.trim_end().to_string();
            let upper = cmd.to_ascii_uppercase();
            if upper.starts_with("EHLO") {
                write
                    .write_all(b"250-test.local\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                    .await?;
            } else if upper.starts_with("HELO")
                || upper.starts_with("MAIL FROM")
                || upper.starts_with("RSET")
                || upper.starts_with("NOOP")
            {
                write.write_all(b"250 OK\r\n").await?;
            } else if upper.starts_with("RCPT TO") {
                rcpt.push(
                    cmd[8..]
                        .trim()
                        .trim_start_matches(':')
                        .trim()
                        .trim_matches(['<', '>'])
                        .to_string(),
                );
                write.write_all(b"250 OK\r\n").await?;
            } else if upper == "DATA" {
                write.write_all(b"354 go ahead\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    data.push_str(
                        line.strip_prefix('.')
                            .filter(|_| line.starts_with(".."))
                            .unwrap_or(&line),
                    );
                }
                self.data_read.notify_one();
                let mode = *self.mode.lock().await;
                match mode {
                    Mode::Accept => {
                        self.messages.lock().await.push(Received {
                            rcpt: std::mem::take(&mut rcpt),
                            data,
                        });
                        write.write_all(b"250 queued\r\n").await?;
                    }
                    Mode::TempFail => write.write_all(b"451 try again later\r\n").await?,
                    Mode::Hang => {
                        std::future::pending::<()>().await;
                    }
                }
            } else if upper.starts_with("QUIT") {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else {
                write.write_all(b"502 not implemented\r\n").await?;
            }
        }
    }
}
