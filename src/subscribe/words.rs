//! The words of the subscribe pages and the confirmation mail, in Korean
//! and English (the fallback). `{newsletter}` and `{address}` are replaced
//! before the text is escaped for its page or part.

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
    refused_title: "잠시 후 다시 시도해 주세요",
    refused_body: "지금은 신청을 받을 수 없습니다. 잠시 후 이 페이지를 새로 고쳐 다시 시도해 주세요.",
    failed_body: "확인 메일을 보내지 못했습니다. 잠시 후 다시 시도해 주세요.",
    confirm_title: "구독을 확인해 주세요",
    confirm_body: "아래 버튼을 누르면 {address} 주소로 {newsletter}을(를) 받아 보게 됩니다.",
    confirm_as: "이름 (선택, 고쳐 쓸 수 있습니다)",
    confirm_button: "구독 확인",
    done_title: "구독되었습니다",
    done_body: "{address} 주소로 {newsletter}을(를) 보내 드리겠습니다. 고맙습니다!",
    spent_title: "이미 사용된 링크입니다",
    spent_body: "이 확인 링크는 이미 사용되었습니다. 다시 구독하려면 구독 페이지에서 새로 신청해 주세요.",
    invalid_title: "유효하지 않은 링크입니다",
    invalid_body: "링크가 잘렸거나 7일이 지나 만료되었습니다. 구독 페이지에서 다시 신청하면 새 링크를 보내 드립니다.",
    mail_subject: "{newsletter} 구독을 확인해 주세요",
    mail_intro: "{address} 주소로 {newsletter} 구독 신청이 들어왔습니다.",
    mail_action: "구독하시려면 아래 링크를 열고 확인 버튼을 눌러 주세요. 링크는 7일 동안 유효합니다.",
    mail_button: "구독 확인하기",
    mail_ignore: "신청하지 않으셨다면 이 메일을 무시하세요. 확인하지 않으면 아무것도 저장되지 않고, 메일도 더 가지 않습니다.",
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
};

/// The words for a newsletter in `language` (a BCP 47 tag).
pub fn words(language: &str) -> &'static Words {
    match crate::config::primary_language(language).as_str() {
        "ko" => &KO,
        _ => &EN,
    }
}

/// `text` with `{newsletter}` and `{address}` filled in (unescaped).
pub fn fill(text: &str, newsletter: &str, address: &str) -> String {
    text.replace("{newsletter}", newsletter)
        .replace("{address}", address)
}
