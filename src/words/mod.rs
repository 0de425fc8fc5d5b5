//! The words of every page `serve` shows a reader (subscribe, confirm,
//! unsubscribe, errors, the archive) and of the confirmation mail: one
//! table per language, Korean and English (the fallback). `{newsletter}`
//! and `{address}` are replaced before the text is escaped for its page or
//! part; in Korean a particle right after `{newsletter}` is written `{을}`,
//! `{이}`, `{은}` or `{으로}` and takes the form the name's last syllable
//! needs.

mod consent;
mod preferences;

pub use consent::{consent_words, ConsentWords};
pub use preferences::{preference_words, PreferenceWords};

/// One language's words.
pub struct Words {
    pub lang: &'static str,
    pub form_title: &'static str,
    pub form_intro: &'static str,
    pub email_label: &'static str,
    pub name_label: &'static str,
    pub submit: &'static str,
    pub privacy: &'static str,
    pub sent_title: &'static str,
    pub sent_body: &'static str,
    pub more_title: &'static str,
    pub more_body: &'static str,
    pub bad_address: &'static str,
    pub bad_name: &'static str,
    pub topics_legend: &'static str,
    pub topics_hint: &'static str,
    pub bad_topic: &'static str,
    pub refused_title: &'static str,
    pub refused_body: &'static str,
    pub failed_body: &'static str,
    pub confirm_title: &'static str,
    pub confirm_body: &'static str,
    pub confirm_as: &'static str,
    pub confirm_button: &'static str,
    pub done_title: &'static str,
    pub done_body: &'static str,
    pub spent_title: &'static str,
    pub spent_body: &'static str,
    pub invalid_title: &'static str,
    pub invalid_body: &'static str,
    pub mail_subject: &'static str,
    pub mail_intro: &'static str,
    pub mail_action: &'static str,
    pub mail_button: &'static str,
    pub mail_ignore: &'static str,
    /// `word-break` for running text: `keep-all` where words must not
    /// split between syllables (Korean).
    pub word_break: &'static str,
    pub leave_title: &'static str,
    pub leave_ask: &'static str,
    pub leave_button: &'static str,
    pub left_title: &'static str,
    pub left_body: &'static str,
    pub leave_invalid_title: &'static str,
    pub leave_invalid_body: &'static str,
    pub leave_how_title: &'static str,
    pub leave_how_body: &'static str,
    pub leave_how_mail: &'static str,
    pub leave_how_reply: &'static str,
    pub not_found_title: &'static str,
    pub not_found_body: &'static str,
    pub archive_link: &'static str,
    /// The archive index's description for search results and link previews.
    pub archive_description: &'static str,
    /// The footer's link to the reader's preference page.
    pub preferences_link: &'static str,
    pub error_title: &'static str,
    pub error_body: &'static str,
    pub feed: &'static str,
}

const KO: Words = Words {
    lang: "ko",
    form_title: "{newsletter} 구독하기",
    form_intro: "이메일 주소를 남겨 주시면 구독 확인 링크를 보내 드립니다.",
    email_label: "이메일 주소",
    name_label: "이름 (선택)",
    submit: "구독 신청",
    privacy: "확인 링크를 누르기 전에는 아무것도 저장되지 않습니다. 언제든 메일 아래의 링크로 구독을 해지할 수 있습니다.",
    sent_title: "메일함을 확인해 주세요",
    sent_body: "{address} 주소로 확인 메일을 보냈습니다. 메일의 링크를 열어 구독을 확인해 주세요. 메일이 보이지 않으면 스팸함도 확인해 주세요.",
    more_title: "한 단계만 더",
    more_body: "아래 버튼을 누르면 확인 메일을 보내 드립니다.",
    bad_address: "메일을 보낼 수 있는 이메일 주소가 아닙니다. 주소를 확인해 주세요.",
    bad_name: "이름은 한 줄, 150자 이내로 적어 주세요.",
    topics_legend: "받아 볼 주제",
    topics_hint: "하나도 고르지 않으면 받아 보실 주제:",
    bad_topic: "목록에 있는 주제 가운데에서 골라 주세요.",
    refused_title: "잠시 후 다시 시도해 주세요",
    refused_body: "지금은 신청을 받을 수 없습니다. 잠시 후 이 페이지를 새로 고쳐 다시 시도해 주세요.",
    failed_body: "확인 메일을 보내지 못했습니다. 잠시 후 다시 시도해 주세요.",
    confirm_title: "구독을 확인해 주세요",
    confirm_body: "아래 버튼을 누르면 {address} 주소로 {newsletter}{을} 받아 보게 됩니다.",
    confirm_as: "이름 (선택, 고쳐 쓸 수 있습니다)",
    confirm_button: "구독 확인",
    done_title: "구독되었습니다",
    done_body: "{address} 주소로 {newsletter}{을} 보내 드리겠습니다. 고맙습니다!",
    spent_title: "이미 사용된 링크입니다",
    spent_body: "이 확인 링크는 이미 사용되었습니다. 다시 구독하려면 구독 페이지에서 새로 신청해 주세요.",
    invalid_title: "유효하지 않은 링크입니다",
    invalid_body: "링크가 잘렸거나 7일이 지나 만료되었습니다. 구독 페이지에서 다시 신청하면 새 링크를 보내 드립니다.",
    mail_subject: "{newsletter} 구독을 확인해 주세요",
    mail_intro: "{address} 주소로 {newsletter} 구독 신청이 들어왔습니다.",
    mail_action: "구독하시려면 아래 링크를 열고 확인 버튼을 눌러 주세요. 링크는 7일 동안 유효합니다.",
    mail_button: "구독 확인하기",
    mail_ignore: "신청하지 않으셨다면 이 메일을 무시하세요. 확인하지 않으면 아무것도 저장되지 않고, 메일도 더 가지 않습니다.",
    word_break: "keep-all",
    leave_title: "{newsletter} 구독을 취소할까요?",
    leave_ask: "구독을 취소하면 {address} 주소로 더 이상 {newsletter}{이} 가지 않습니다.",
    leave_button: "구독 취소",
    left_title: "구독이 취소되었습니다",
    left_body: "{address} 주소로는 더 이상 {newsletter}{을} 보내지 않습니다.",
    leave_invalid_title: "유효하지 않은 구독 취소 링크입니다",
    leave_invalid_body: "메일 프로그램이 링크를 잘랐을 수 있습니다. 받으신 메일 아래에 있는 링크 전체를 사용하시거나, 그 메일에 답장으로 구독 취소를 요청해 주세요.",
    leave_how_title: "{newsletter} 구독 취소",
    leave_how_body: "받으신 메일 맨 아래의 ‘구독 취소’ 링크를 누르면 구독을 취소할 수 있습니다. 그 링크에는 받는 분의 주소가 들어 있어서, 이 페이지에서는 주소를 묻지 않습니다.",
    leave_how_mail: "이 주소로 메일을 보내셔도 구독이 취소됩니다:",
    leave_how_reply: "받으신 메일에 답장으로 구독 취소를 요청하셔도 됩니다.",
    not_found_title: "페이지를 찾을 수 없습니다",
    not_found_body: "주소가 바뀌었거나 잘못 입력되었을 수 있습니다.",
    archive_link: "{newsletter} 지난 호 보기",
    archive_description: "{newsletter}의 지난 호를 모두 웹에서 읽을 수 있습니다.",
    preferences_link: "구독 설정 변경",
    error_title: "문제가 생겼습니다",
    error_body: "잠시 후 다시 시도해 주세요.",
    feed: "Atom 피드",
};

const EN: Words = Words {
    lang: "en",
    form_title: "Subscribe to {newsletter}",
    form_intro: "Leave your email address and we will send you a link to confirm.",
    email_label: "Email address",
    name_label: "Name (optional)",
    submit: "Subscribe",
    privacy: "Nothing is stored until you press the link in that mail. Every issue has a link to unsubscribe.",
    sent_title: "Check your inbox",
    sent_body: "We sent a confirmation mail to {address}. Open the link in it to confirm. If you cannot find it, look in your spam folder.",
    more_title: "One more step",
    more_body: "Press the button and we will send you the confirmation mail.",
    bad_address: "That is not an email address we can send to. Please check it.",
    bad_name: "Please write the name on one line, in at most 150 characters.",
    topics_legend: "Topics",
    topics_hint: "If you choose none, you get:",
    bad_topic: "Please choose among the topics listed.",
    refused_title: "Please try again later",
    refused_body: "We cannot take this request right now. Please reload this page in a little while and try again.",
    failed_body: "We could not send the confirmation mail. Please try again in a little while.",
    confirm_title: "Confirm your subscription",
    confirm_body: "Press the button to receive {newsletter} at {address}.",
    confirm_as: "Name (optional; you may correct it)",
    confirm_button: "Confirm subscription",
    done_title: "You are subscribed",
    done_body: "{newsletter} will come to {address}. Thank you!",
    spent_title: "This link was already used",
    spent_body: "This confirmation link has been used. To subscribe again, ask for a new one on the subscribe page.",
    invalid_title: "This link is not valid",
    invalid_body: "It may have been cut short, or it is older than 7 days. Subscribe again on the subscribe page and we will send a new link.",
    mail_subject: "Confirm your subscription to {newsletter}",
    mail_intro: "Someone asked to subscribe {address} to {newsletter}.",
    mail_action: "To subscribe, open the link below and press the button. The link works for 7 days.",
    mail_button: "Confirm my subscription",
    mail_ignore: "If you did not ask for this, ignore this mail: nothing is stored unless you confirm, and no more mail will come.",
    word_break: "normal",
    leave_title: "Unsubscribe from {newsletter}?",
    leave_ask: "You will no longer receive {newsletter} at {address}.",
    leave_button: "Unsubscribe",
    left_title: "You are unsubscribed",
    left_body: "{address} will receive no more issues of {newsletter}.",
    leave_invalid_title: "This unsubscribe link is not valid",
    leave_invalid_body: "It may have been cut short by your mail program. Use the whole link from the footer of an issue, or reply to the issue and ask to be removed.",
    leave_how_title: "Unsubscribe from {newsletter}",
    leave_how_body: "To unsubscribe, use the unsubscribe link at the foot of any issue you received. That link carries your address, so this page does not ask for it.",
    leave_how_mail: "You can also send a mail to this address and you will be removed:",
    leave_how_reply: "You can also reply to any issue and ask to be removed.",
    not_found_title: "Page not found",
    not_found_body: "The address may have changed or been mistyped.",
    archive_link: "Past issues of {newsletter}",
    archive_description: "Every past issue of {newsletter}, to read on the web.",
    preferences_link: "Manage your subscription",
    error_title: "Something went wrong",
    error_body: "Please try again in a minute.",
    feed: "Atom feed",
};

impl Words {
    /// Every text of the table.
    pub fn texts(&self) -> [&'static str; 54] {
        [
            self.lang,
            self.form_title,
            self.form_intro,
            self.email_label,
            self.name_label,
            self.submit,
            self.privacy,
            self.sent_title,
            self.sent_body,
            self.more_title,
            self.more_body,
            self.bad_address,
            self.bad_name,
            self.topics_legend,
            self.topics_hint,
            self.bad_topic,
            self.refused_title,
            self.refused_body,
            self.failed_body,
            self.confirm_title,
            self.confirm_body,
            self.confirm_as,
            self.confirm_button,
            self.done_title,
            self.done_body,
            self.spent_title,
            self.spent_body,
            self.invalid_title,
            self.invalid_body,
            self.mail_subject,
            self.mail_intro,
            self.mail_action,
            self.mail_button,
            self.mail_ignore,
            self.word_break,
            self.leave_title,
            self.leave_ask,
            self.leave_button,
            self.left_title,
            self.left_body,
            self.leave_invalid_title,
            self.leave_invalid_body,
            self.leave_how_title,
            self.leave_how_body,
            self.leave_how_mail,
            self.leave_how_reply,
            self.not_found_title,
            self.not_found_body,
            self.archive_link,
            self.archive_description,
            self.preferences_link,
            self.error_title,
            self.error_body,
            self.feed,
        ]
    }
}

/// The words for a newsletter in `language` (a BCP 47 tag).
pub fn words(language: &str) -> &'static Words {
    match crate::config::primary_language(language).as_str() {
        "ko" => &KO,
        _ => &EN,
    }
}

/// `text` with `{newsletter}` and `{address}` filled in (unescaped), and
/// the particle after the name in the form the name needs.
pub fn fill(text: &str, newsletter: &str, address: &str) -> String {
    let mut text = text.to_string();
    for particle in Particle::ALL {
        let written = format!("{{newsletter}}{{{}}}", particle.tag());
        if text.contains(&written) {
            let named = format!("{newsletter}{}", particle.after(newsletter));
            text = text.replace(&written, &named);
        }
    }
    text.replace("{newsletter}", newsletter)
        .replace("{address}", address)
}

/// A Korean particle whose form depends on the word before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Particle {
    /// 을/를 (object).
    Eul,
    /// 이/가 (subject).
    I,
    /// 은/는 (topic).
    Eun,
    /// 으로/로 (means, direction).
    Euro,
}

impl Particle {
    const ALL: [Particle; 4] = [Particle::Eul, Particle::I, Particle::Eun, Particle::Euro];

    /// How a text writes it after `{newsletter}`: `{을}`, `{이}`, `{은}`, `{으로}`.
    fn tag(self) -> &'static str {
        self.forms().0
    }

    /// (after a final consonant, after a vowel, when it cannot be told).
    fn forms(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Particle::Eul => ("을", "를", "을(를)"),
            Particle::I => ("이", "가", "이(가)"),
            Particle::Eun => ("은", "는", "은(는)"),
            Particle::Euro => ("으로", "로", "(으)로"),
        }
    }

    /// The form after `word`, chosen by its last syllable's final
    /// consonant (jongseong); 으로/로 takes 로 after a final ㄹ too. A word
    /// that does not end in a Hangul syllable gets both forms, `을(를)`.
    pub fn after(self, word: &str) -> &'static str {
        let (consonant, vowel, unknown) = self.forms();
        match word.trim_end().chars().last().and_then(jongseong) {
            None => unknown,
            Some(0) => vowel,
            Some(RIEUL) if self == Particle::Euro => vowel,
            Some(_) => consonant,
        }
    }
}

/// The index of ㄹ among the final consonants.
const RIEUL: u32 = 8;

/// The final consonant's index of a Hangul syllable (0: none), or none
/// for any other character.
fn jongseong(c: char) -> Option<u32> {
    let code = c as u32;
    (0xAC00..=0xD7A3)
        .contains(&code)
        .then(|| (code - 0xAC00) % 28)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forms(word: &str) -> [&'static str; 4] {
        Particle::ALL.map(|p| p.after(word))
    }

    #[test]
    fn particles_follow_the_last_syllable() {
        assert_eq!(forms("뷰스레터플러스"), ["를", "가", "는", "로"]);
        assert_eq!(forms("뉴스")[0], "를");
        assert_eq!(forms("책"), ["을", "이", "은", "으로"]);
        assert_eq!(forms("서울"), ["을", "이", "은", "로"]);
        assert_eq!(forms("Letter"), ["을(를)", "이(가)", "은(는)", "(으)로"]);
        assert_eq!(forms(""), ["을(를)", "이(가)", "은(는)", "(으)로"]);
    }

    #[test]
    fn the_name_takes_its_particle_and_no_table_leaves_a_placeholder() {
        assert_eq!(
            fill(
                "{newsletter}{을} {address}",
                "뷰스레터플러스",
                "a@example.com"
            ),
            "뷰스레터플러스를 a@example.com"
        );
        assert_eq!(fill("{newsletter}{으로}", "책", ""), "책으로");
        for table in [&KO, &EN] {
            for text in table.texts() {
                let filled = fill(text, "서울", "a@example.com");
                assert!(!filled.contains(['{', '}']), "{filled}");
                assert!(!filled.contains("(를)"), "{filled}");
            }
        }
    }
}
