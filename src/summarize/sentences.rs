//! Splitting a paragraph into sentences.
//!
//! A sentence ends at `.`, `!`, `?` or `…` (with any closing quotes or brackets after it) when
//! whitespace and then something that can start a sentence follow: a capital, a digit or an
//! opening quote. A period after a known abbreviation ("Dr.", "etc." is not one) or after
//! initials ("e.g.", "U.S.", "J.") does not end one, and a period inside a number never can,
//! since no whitespace follows it. CJK full stops end a sentence outright.

/// Abbreviations that are followed by a period and usually by a capitalised word.
/// Initials and dotted forms such as "e.g." are recognised by shape instead.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "ft", "vs", "fig", "figs", "vol",
    "vols", "pp", "approx", "dept", "est", "inc", "ltd", "co", "corp", "mfg", "bros", "univ", "cf",
    "al", "gen", "gov", "sen", "rep", "rev", "capt", "col", "lt", "sgt", "ave", "jan", "feb",
    "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
];

const TERMINATORS: &[char] = &['.', '!', '?', '…'];
const CJK_TERMINATORS: &[char] = &['。', '！', '？'];
const CLOSERS: &[char] = &['"', '\'', '”', '’', ')', ']', '»'];
const OPENERS: &[char] = &['"', '\'', '“', '‘', '(', '[', '«', '¿', '¡'];

/// The sentences of `text`, trimmed, in order.
pub fn split(text: &str) -> Vec<&str> {
    let mut sentences = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        let cjk = CJK_TERMINATORS.contains(&c);
        if !cjk && !TERMINATORS.contains(&c) {
            continue;
        }
        let mut end = index + c.len_utf8();
        while let Some(&(next_index, next)) = chars.peek() {
            if TERMINATORS.contains(&next)
                || CJK_TERMINATORS.contains(&next)
                || CLOSERS.contains(&next)
            {
                end = next_index + next.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        let single_period = text[index..end].trim_end_matches(CLOSERS) == ".";
        let ends_here = cjk
            || (starts_sentence(&text[end..])
                && !(single_period && ends_with_abbreviation(&text[start..index])));
        if ends_here {
            push_trimmed(&mut sentences, &text[start..end]);
            start = end;
        }
    }
    push_trimmed(&mut sentences, &text[start..]);
    sentences
}

/// Whether `sentence` ends with sentence punctuation, as prose does and headings do not.
pub fn is_punctuated(sentence: &str) -> bool {
    sentence
        .trim_end()
        .trim_end_matches(CLOSERS)
        .ends_with(|c| TERMINATORS.contains(&c) || CJK_TERMINATORS.contains(&c))
}

/// Whether `rest` is whitespace followed by a sentence opening, or nothing at all.
fn starts_sentence(rest: &str) -> bool {
    let trimmed = rest.trim_start();
    if trimmed.len() == rest.len() && !rest.is_empty() {
        return false;
    }
    trimmed
        .chars()
        .next()
        .is_none_or(|c| c.is_uppercase() || c.is_ascii_digit() || OPENERS.contains(&c))
}

/// Whether the last word of `before` (the text up to a period) is an abbreviation.
fn ends_with_abbreviation(before: &str) -> bool {
    let word = before
        .rsplit(char::is_whitespace)
        .next()
        .unwrap_or("")
        .trim_start_matches(OPENERS);
    if word.is_empty() {
        return false;
    }
    let initials = word
        .split('.')
        .all(|part| part.chars().count() == 1 && part.chars().all(char::is_alphabetic));
    initials || ABBREVIATIONS.contains(&word.to_lowercase().as_str())
}

fn push_trimmed<'a>(sentences: &mut Vec<&'a str>, sentence: &'a str) {
    let sentence = sentence.trim();
    if !sentence.is_empty() {
        sentences.push(sentence);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_sentences_are_split() {
        assert_eq!(
            split("The sun rose. Birds sang! Did anyone notice? Nobody did."),
            [
                "The sun rose.",
                "Birds sang!",
                "Did anyone notice?",
                "Nobody did."
            ]
        );
    }

    #[test]
    fn abbreviations_and_initials_do_not_end_a_sentence() {
        assert_eq!(
            split(
                "Dr. Smith met Prof. Jones at 5 p.m. on Main St. near the park. \
                 They discussed fruit, e.g. Apples and pears. J. R. R. Tolkien wrote books. \
                 The U.S. Army agreed."
            ),
            [
                "Dr. Smith met Prof. Jones at 5 p.m. on Main St. near the park.",
                "They discussed fruit, e.g. Apples and pears.",
                "J. R. R. Tolkien wrote books.",
                "The U.S. Army agreed."
            ]
        );
    }

    #[test]
    fn decimals_and_versions_do_not_end_a_sentence() {
        assert_eq!(
            split("Pi is about 3.14159 today. Version 2.0 shipped in 2024. It costs $1.50 now."),
            [
                "Pi is about 3.14159 today.",
                "Version 2.0 shipped in 2024.",
                "It costs $1.50 now."
            ]
        );
    }

    #[test]
    fn a_number_can_start_the_next_sentence() {
        assert_eq!(
            split("The vote was close. 52 members agreed."),
            ["The vote was close.", "52 members agreed."]
        );
    }

    #[test]
    fn closing_quotes_stay_with_their_sentence() {
        assert_eq!(
            split(
                "She said, \"We are done.\" Then she left. \"Why?\" he asked. (It rained.) Fine."
            ),
            [
                "She said, \"We are done.\"",
                "Then she left.",
                "\"Why?\" he asked.",
                "(It rained.)",
                "Fine."
            ]
        );
    }

    #[test]
    fn ellipses_and_lowercase_continuations_are_handled() {
        assert_eq!(
            split("Wait... What happened? it went on. Really?! Yes."),
            ["Wait...", "What happened? it went on.", "Really?!", "Yes."]
        );
    }

    #[test]
    fn cjk_full_stops_end_sentences() {
        assert_eq!(
            split("今日は晴れ。明日は雨。"),
            ["今日は晴れ。", "明日は雨。"]
        );
    }

    #[test]
    fn punctuation_tells_prose_from_headings() {
        assert!(is_punctuated("It rained."));
        assert!(is_punctuated("\"Why?\""));
        assert!(!is_punctuated("Latest news"));
    }

    #[test]
    fn text_without_a_final_period_is_one_sentence() {
        assert_eq!(
            split("  A heading without a period  "),
            ["A heading without a period"]
        );
        assert!(split("   ").is_empty());
    }
}
