//! The public pages (join, embed, thanks, start, install and error pages) in their visitors'
//! language: Fluent catalogs under `locales/` (compiled in), the language a request asks for (a
//! remembered choice, else `Accept-Language`), and lookups templates call. The dashboard stays
//! in English.

use std::collections::HashMap;
use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// The languages Lobby speaks, English first (the fallback), with their catalogs.
pub const CATALOGS: [(&str, &str); 5] = [
    ("en", include_str!("../locales/en.ftl")),
    ("de", include_str!("../locales/de.ftl")),
    ("fr", include_str!("../locales/fr.ftl")),
    ("es", include_str!("../locales/es.ftl")),
    ("ja", include_str!("../locales/ja.ftl")),
];

/// The cookie that remembers a visitor's choice of language.
pub const LANG_COOKIE: &str = "lobby_lang";

type Bundle = FluentBundle<FluentResource>;

fn bundles() -> &'static HashMap<&'static str, Bundle> {
    static BUNDLES: OnceLock<HashMap<&'static str, Bundle>> = OnceLock::new();
    BUNDLES.get_or_init(|| {
        CATALOGS
            .iter()
            .filter_map(|(code, source)| {
                // A catalog that does not parse is caught by the tests; at run time its
                // language falls back to English rather than failing the page.
                let resource = FluentResource::try_new((*source).to_owned())
                    .map_err(|(_, errors)| {
                        tracing::error!(
                            lang = code,
                            ?errors,
                            "a translation catalog does not parse"
                        );
                    })
                    .ok()?;
                let id = code.parse().ok()?;
                let mut bundle = Bundle::new_concurrent(vec![id]);
                // Pages are HTML, escaped by askama: no invisible bidi marks around values.
                bundle.set_use_isolating(false);
                bundle.add_resource(resource).ok()?;
                Some((*code, bundle))
            })
            .collect()
    })
}

/// A supported language code, or `None`.
pub fn supported(code: &str) -> Option<&'static str> {
    let code = code.trim().to_ascii_lowercase();
    let primary = code.split(['-', '_']).next().unwrap_or_default();
    CATALOGS.iter().map(|(c, _)| *c).find(|c| *c == primary)
}

/// The first supported language of an `Accept-Language` header, by its `q` weights.
pub fn negotiate(accept_language: &str) -> Option<&'static str> {
    let mut wanted: Vec<(f32, usize, &'static str)> = accept_language
        .split(',')
        .enumerate()
        .filter_map(|(i, item)| {
            let mut parts = item.split(';');
            let lang = supported(parts.next()?)?;
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (q > 0.0).then_some((q, i, lang))
        })
        .collect();
    wanted.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    wanted.first().map(|w| w.2)
}

/// A language to render a page in; templates call its lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lang(&'static str);

impl Default for Lang {
    fn default() -> Self {
        Lang("en")
    }
}

impl Lang {
    /// The remembered choice (`cookie`), else the browser's `Accept-Language`, else English.
    pub fn choose(cookie: Option<&str>, accept_language: Option<&str>) -> Self {
        cookie
            .and_then(supported)
            .or_else(|| accept_language.and_then(negotiate))
            .map_or_else(Lang::default, Lang)
    }

    /// The code for `<html lang>`.
    pub fn code(&self) -> &'static str {
        self.0
    }

    /// Every language, for the switch: code, own name, and whether it is this one.
    pub fn choices(&self) -> Vec<(&'static str, String, bool)> {
        CATALOGS
            .iter()
            .map(|(code, _)| (*code, Lang(code).t("lang-name"), *code == self.0))
            .collect()
    }

    /// The message `key`.
    pub fn t(&self, key: &str) -> String {
        self.format(key, None)
    }

    /// The message `key` with one argument.
    pub fn t1(&self, key: &str, name: &str, value: &str) -> String {
        let mut args = FluentArgs::new();
        args.set(name.to_owned(), FluentValue::from(value.to_owned()));
        self.format(key, Some(&args))
    }

    /// The message `key` with two arguments.
    pub fn t2(&self, key: &str, a: &str, a_value: &str, b: &str, b_value: &str) -> String {
        let mut args = FluentArgs::new();
        args.set(a.to_owned(), FluentValue::from(a_value.to_owned()));
        args.set(b.to_owned(), FluentValue::from(b_value.to_owned()));
        self.format(key, Some(&args))
    }

    /// The message `key` for a number (`$count`), with the language's plural rules.
    pub fn count(&self, key: &str, count: &i64) -> String {
        let mut args = FluentArgs::new();
        args.set("count", FluentValue::from(*count));
        self.format(key, Some(&args))
    }

    fn format(&self, key: &str, args: Option<&FluentArgs<'_>>) -> String {
        let bundles = bundles();
        // A missing message falls back to English, then to its key (the tests keep both away).
        for code in [self.0, "en"] {
            if let Some(pattern) = bundles
                .get(code)
                .and_then(|b| b.get_message(key))
                .and_then(|m| m.value())
                && let Some(bundle) = bundles.get(code)
            {
                let mut errors = Vec::new();
                return bundle
                    .format_pattern(pattern, args, &mut errors)
                    .into_owned();
            }
        }
        key.to_owned()
    }
}

/// The message ids of a catalog, for the completeness test; an error when it does not parse.
pub fn keys(source: &str) -> Result<Vec<String>, String> {
    FluentResource::try_new(source.to_owned()).map_err(|(_, errors)| format!("{errors:?}"))?;
    // A message starts a line with its id and " =" (continuations are indented).
    Ok(source
        .lines()
        .filter_map(|line| line.split_once(" ="))
        .map(|(id, _)| id)
        .filter(|id| {
            id.starts_with(|c: char| c.is_ascii_lowercase())
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map(str::to_owned)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_has_every_key_of_every_other() {
        let english = keys(CATALOGS[0].1).unwrap();
        for (code, source) in CATALOGS {
            let found = keys(source).unwrap_or_else(|e| panic!("{code} does not parse: {e}"));
            for key in &english {
                assert!(found.contains(key), "{code}.ftl misses {key}");
            }
            for key in &found {
                assert!(
                    english.contains(key),
                    "{code}.ftl has {key}, which en.ftl lacks"
                );
            }
        }
    }

    #[test]
    fn every_key_the_templates_use_is_in_the_catalog() {
        let english = keys(CATALOGS[0].1).unwrap();
        let templates = [
            include_str!("../templates/base.html"),
            include_str!("../templates/error.html"),
            include_str!("../templates/error_embed.html"),
            include_str!("../templates/home.html"),
            include_str!("../templates/install.html"),
            include_str!("../templates/installed.html"),
            include_str!("../templates/install_refused.html"),
            include_str!("../templates/join.html"),
            include_str!("../templates/join_form.html"),
            include_str!("../templates/join_done.html"),
            include_str!("../templates/join_embed.html"),
            include_str!("../templates/join_done_embed.html"),
            include_str!("../templates/language_switch.html"),
            include_str!("../templates/join_confirm.html"),
            include_str!("../templates/join_confirmed.html"),
            include_str!("../templates/mail/confirm.txt"),
            include_str!("../templates/mail/confirm.html"),
            include_str!("../templates/mail/denied.txt"),
            include_str!("../templates/mail/denied.html"),
            include_str!("../templates/mail/invite_link.txt"),
            include_str!("../templates/mail/invite_link.html"),
        ];
        for template in templates {
            for call in ["lang.t(\"", "lang.t1(\"", "lang.t2(\"", "lang.count(\""] {
                for (i, _) in template.match_indices(call) {
                    let rest = &template[i + call.len()..];
                    let key = &rest[..rest.find('"').unwrap()];
                    assert!(english.contains(&key.to_owned()), "en.ftl misses {key}");
                }
            }
        }
    }

    #[test]
    fn the_browser_language_is_negotiated_by_weight() {
        assert_eq!(negotiate("de-DE,de;q=0.9,en;q=0.8"), Some("de"));
        assert_eq!(negotiate("nl, fr;q=0.5, ja;q=0.7"), Some("ja"));
        assert_eq!(negotiate("nl"), None);
        assert_eq!(negotiate("de;q=0"), None);
        assert_eq!(Lang::choose(Some("es"), Some("de")).code(), "es");
        assert_eq!(Lang::choose(Some("xx"), Some("de")).code(), "de");
        assert_eq!(Lang::choose(None, None).code(), "en");
    }

    #[test]
    fn messages_take_arguments_and_plurals() {
        let de = Lang::choose(Some("de"), None);
        assert_eq!(de.t1("join-title", "title", "Rust"), "Rust beitreten");
        assert_eq!(de.count("join-members", &1), "1 Mitglied");
        assert_eq!(Lang::default().count("join-members", &2), "2 members");
        assert_eq!(Lang::default().t("no-such-key"), "no-such-key");
    }
}
