//! The words of the consent mails (`[consent]`): the result notice after a
//! consent or a withdrawal (정보통신망법 제50조 제7항, 시행령 제62조의2:
//! the sender, the date, and what was done) and the reminder of a consent
//! (제50조 제8항, 시행령 제62조의3: the sender, when and how the reader
//! agreed, and how to keep or withdraw it). `{newsletter}`, `{date}` and
//! `{how}` are filled in.

/// One language's words for the consent mails.
pub struct ConsentWords {
    pub consented_subject: &'static str,
    pub consented_body: &'static str,
    pub withdrew_subject: &'static str,
    pub withdrew_body: &'static str,
    pub reminder_subject: &'static str,
    pub reminder_body: &'static str,
    pub reminder_keep: &'static str,
    pub leave_button: &'static str,
    pub footnote: &'static str,
    pub how_form: &'static str,
    pub how_cli: &'static str,
    pub how_import: &'static str,
    pub how_other: &'static str,
}

const KO: ConsentWords = ConsentWords {
    consented_subject: "[{newsletter}] 광고성 정보 수신동의 처리 결과 안내",
    consented_body: "{newsletter}의 메일 수신에 동의하신 결과를 알려 드립니다.\n전송자: {newsletter}\n수신동의 일시: {date}\n처리 결과: 수신동의 완료",
    withdrew_subject: "[{newsletter}] 광고성 정보 수신거부 처리 결과 안내",
    withdrew_body: "{newsletter}의 메일 수신을 거부(수신동의 철회)하신 결과를 알려 드립니다.\n전송자: {newsletter}\n수신거부 일시: {date}\n처리 결과: 수신거부 완료. 앞으로 이 주소로 광고성 정보를 보내 드리지 않습니다.",
    reminder_subject: "[{newsletter}] 광고성 정보 수신동의 여부 확인 안내",
    reminder_body: "정보통신망법에 따라 수신동의 사실을 2년마다 알려 드립니다.\n전송자: {newsletter}\n수신동의 일시: {date}\n수신동의 방법: {how}",
    reminder_keep: "계속 받으시려면 아무것도 하지 않으셔도 됩니다. 더 받지 않으시려면 아래 버튼으로 수신을 거부하실 수 있습니다.",
    leave_button: "수신거부",
    footnote: "이 메일은 법에 따라 보내 드리는 안내 메일입니다.",
    how_form: "구독 신청 페이지에서 신청하고 확인 메일의 버튼을 눌러 동의",
    how_cli: "뉴스레터 운영자에게 요청하여 등록",
    how_import: "다른 서비스에서 옮겨 온 구독자 목록으로 등록",
    how_other: "기록된 방법 없음",
};

const EN: ConsentWords = ConsentWords {
    consented_subject: "[{newsletter}] Your consent is recorded",
    consented_body: "This confirms that you agreed to receive {newsletter}.\nSender: {newsletter}\nConsent given: {date}\nResult: consent recorded",
    withdrew_subject: "[{newsletter}] Your unsubscribe is recorded",
    withdrew_body: "This confirms that you withdrew your consent to receive {newsletter}.\nSender: {newsletter}\nWithdrawn: {date}\nResult: unsubscribed; no more issues go to this address.",
    reminder_subject: "[{newsletter}] A reminder of your consent",
    reminder_body: "We remind you of your consent to receive {newsletter}.\nSender: {newsletter}\nConsent given: {date}\nHow: {how}",
    reminder_keep: "To keep receiving it, do nothing. To stop, use the button below.",
    leave_button: "Unsubscribe",
    footnote: "This is a notice the law asks us to send.",
    how_form: "you subscribed on the form and pressed the button in the confirmation mail",
    how_cli: "the newsletter's editor added you at your request",
    how_import: "your address came from a list moved from another service",
    how_other: "not recorded",
};

/// The consent mails' words for `language` (English for any language
/// without its own).
pub fn consent_words(language: &str) -> &'static ConsentWords {
    match crate::config::primary_language(language).as_str() {
        "ko" => &KO,
        _ => &EN,
    }
}
