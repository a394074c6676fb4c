//! Sends one e-mail over SMTP with lettre (rustls on ring). The Message-ID comes from
//! the job's idempotency key, so a retry after a crash carries the same id and a
//! receiver can drop the duplicate.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment as LettreAttachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sable_store::mail_settings::{Security, SmtpSettings};

/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// One e-mail to send.
#[derive(Clone, Debug)]
pub struct Mail {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    /// `<…@…>`.
    pub message_id: String,
    /// Files sent with the text (a scheduled report).
    pub attachments: Vec<Attachment>,
}

/// A file attached to an e-mail.
#[derive(Clone, Debug)]
pub struct Attachment {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Why sending failed, and whether trying again could help.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct MailError {
    pub message: String,
    /// True for errors a retry cannot fix (bad address, refused recipient, no settings).
    pub permanent: bool,
}

impl MailError {
    fn permanent(message: impl Into<String>) -> MailError {
        MailError {
            message: message.into(),
            permanent: true,
        }
    }
}

/// The domain Message-IDs use: the sender's.
pub fn message_domain(settings: &SmtpSettings) -> String {
    settings
        .from_address
        .rsplit_once('@')
        .map_or_else(|| "sable.local".to_string(), |(_, d)| d.to_string())
}

/// Builds the message (checking every address) without sending it.
pub fn build_message(settings: &SmtpSettings, mail: &Mail) -> Result<Message, MailError> {
    let from_addr = settings
        .from_address
        .trim()
        .parse()
        .map_err(|e| MailError::permanent(format!("sender {:?}: {e}", settings.from_address)))?;
    let name = (!settings.from_name.is_empty()).then(|| settings.from_name.clone());
    let mut b = Message::builder()
        .from(Mailbox::new(name, from_addr))
        .subject(mail.subject.clone())
        .message_id(Some(mail.message_id.clone()));
    if mail.to.is_empty() {
        return Err(MailError::permanent("no recipient"));
    }
    for to in &mail.to {
        let mb: Mailbox = to
            .trim()
            .parse()
            .map_err(|e| MailError::permanent(format!("recipient {to:?}: {e}")))?;
        b = b.to(mb);
    }
    let built = if mail.attachments.is_empty() {
        b.header(ContentType::TEXT_PLAIN).body(mail.body.clone())
    } else {
        let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(mail.body.clone()));
        for a in &mail.attachments {
            let ct = ContentType::parse(&a.content_type)
                .map_err(|e| MailError::permanent(format!("attachment type {:?}: {e}", a.content_type)))?;
            parts = parts.singlepart(LettreAttachment::new(a.file_name.clone()).body(a.bytes.clone(), ct));
        }
        b.multipart(parts)
    };
    built.map_err(|e| MailError::permanent(format!("building the message: {e}")))
}

/// Sends one e-mail through the configured server.
pub async fn send(settings: &SmtpSettings, mail: &Mail) -> Result<(), MailError> {
    let message = build_message(settings, mail)?;
    let host = settings.host.as_str();
    let builder = match settings.security {
        Security::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        Security::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
            .map_err(|e| MailError::permanent(format!("SMTP host {host}: {e}")))?,
        Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
            .map_err(|e| MailError::permanent(format!("SMTP host {host}: {e}")))?,
    };
    let mut builder = builder.port(settings.port).timeout(Some(SMTP_TIMEOUT));
    if !settings.username.is_empty() {
        builder = builder.credentials(Credentials::new(settings.username.clone(), settings.password.clone()));
    }
    let transport = builder.build();
    transport.send(message).await.map(|_| ()).map_err(|e| MailError {
        permanent: e.is_permanent(),
        message: format!("SMTP {host}:{}: {e}", settings.port),
    })
}
