//! Joining the list: double opt-in. The form (in `serve`) and
//! `subscribers add --confirm` send a confirmation mail whose link carries
//! a signed token; the reader is written only when the link's button is
//! pressed. Then the welcome issue, if any, goes to them once.

pub mod confirm;
pub mod limits;
pub mod mailer;
pub mod token;
pub mod welcome;

use anyhow::{anyhow, bail, Result};
use lettre::Address;

pub use crate::list::Source;
pub use token::{Confirmation, Invalid, TopicMark};

use crate::config::Config;
use crate::list::{validate, Subscriber};
use crate::message::Outgoing;
use crate::send::{ServiceRelay, Transport};
use confirm::Confirmer;

/// `[subscribe] url` without its query: the form's address.
pub fn form_url(config: &Config) -> Result<&str> {
    let Some(subscribe) = &config.file.subscribe else {
        bail!(
            "{}: there is no [subscribe] table, so there is no form to confirm through\n  help: add [subscribe] with url = \"https://…/subscribe\" (see README.md)",
            config.path.display()
        );
    };
    Ok(subscribe.url.split(['?', '#']).next().unwrap_or(""))
}

/// The link a confirmation mail carries.
pub fn link(config: &Config, token: &str) -> Result<String> {
    Ok(format!(
        "{}/confirm?t={token}",
        form_url(config)?.trim_end_matches('/')
    ))
}

/// A submitted address and name, checked as a list entry would be: the
/// parsed address and the trimmed name, or what is wrong.
pub fn check_input(address: &str, name: &str) -> Result<(Address, Option<String>), String> {
    let name = name.trim();
    let name = (!name.is_empty()).then(|| name.to_string());
    let probe = Subscriber::active(address, name.clone(), Vec::new(), Source::Form);
    let parsed = validate(&probe)?;
    Ok((parsed, name))
}

/// The topics a reader asked for, by tag: the `[[topics]]` whose tags
/// were ticked, or when none was, the default topics
/// ([`Config::default_topics`]); `Err` with the first tag that is not a
/// topic.
pub fn chosen_topics<'a>(config: &Config, ticked: &'a [String]) -> Result<Vec<String>, &'a str> {
    if let Some(unknown) = ticked
        .iter()
        .find(|t| !config.topics().iter().any(|topic| topic.tag == **t))
    {
        return Err(unknown);
    }
    if ticked.is_empty() {
        return Ok(config.default_topics());
    }
    // In the config's order, each once.
    Ok(config
        .topics()
        .iter()
        .filter(|topic| ticked.contains(&topic.tag))
        .map(|topic| topic.tag.clone())
        .collect())
}

/// The confirmation mail for `address`, signed now, carrying the `topics`
/// (tags) the reader chose.
pub fn request(
    config: &Config,
    confirmer: &Confirmer,
    secret: &[u8],
    address: &Address,
    name: Option<String>,
    source: Source,
    topics: &[String],
) -> Result<Outgoing> {
    let confirmation = Confirmation {
        address: address.to_string(),
        name,
        source,
        issued: jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
            .expect("now is a valid time"),
        topics: TopicMark::all(topics),
    };
    let token = token::sign(secret, &confirmation);
    confirmer.message(address, &link(config, &token)?)
}

/// The reader a confirmation adds: active since now, with the form's tags
/// and the tags of the topics the link carries (those still in the
/// config).
pub fn reader(config: &Config, confirmation: &Confirmation) -> Subscriber {
    let mut tags = config
        .file
        .subscribe
        .as_ref()
        .map(|s| s.tags.clone())
        .unwrap_or_default();
    let offered: Vec<&str> = config.topics().iter().map(|t| t.tag.as_str()).collect();
    for tag in TopicMark::tags(&confirmation.topics, &offered) {
        if !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_string());
        }
    }
    Subscriber::active(
        &confirmation.address,
        confirmation.name.clone(),
        tags,
        confirmation.source,
    )
}

/// Sends one message now (for the command line), through the next relay
/// when one fails; the name of the relay that took it.
pub fn send_now(relay: &ServiceRelay, message: &Outgoing) -> Result<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut last = None;
        // A relay that fails rests, so each try goes to the next one.
        for _ in 0..relay.len() {
            let mut connection = relay.connect().await.map_err(|e| e.into_fatal())?;
            let name = relay.name_of(&connection);
            let sent = relay.send(&mut connection, message).await;
            relay.close(connection).await;
            match sent {
                Ok(_) => return Ok(name),
                Err(e) if e.is_permanent() => return Err(refused(&name, e)),
                Err(e) => last = Some((name, e)),
            }
        }
        match last {
            Some((name, e)) => Err(refused(&name, e)),
            None => bail!("there is no relay to send through"),
        }
    })
}

fn refused(relay: &str, e: crate::send::Error) -> anyhow::Error {
    anyhow!(
        "{relay} did not take the confirmation mail: {}",
        e.into_fatal()
    )
}
