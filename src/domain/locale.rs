//! The languages the customer's pages speak. A payment may name one (`locale`), a merchant may
//! set a default; the checkout picks among them and the browser's preference.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    En,
    Ur,
    Ar,
    Hi,
    Bn,
}

/// A language tag whose language the pages do not speak.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be one of en, ur, ar, hi, bn (a tag such as ur-PK is taken as ur)")]
pub struct LocaleError;

impl Locale {
    /// In the order the language switch lists them.
    pub const ALL: [Locale; 5] = [Locale::En, Locale::Ur, Locale::Ar, Locale::Hi, Locale::Bn];

    /// The language's ISO 639-1 code, as stored and as `<html lang>` says it.
    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Ur => "ur",
            Locale::Ar => "ar",
            Locale::Hi => "hi",
            Locale::Bn => "bn",
        }
    }

    /// The language's name in itself, as the language switch shows it.
    pub fn native_name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::Ur => "اردو",
            Locale::Ar => "العربية",
            Locale::Hi => "हिन्दी",
            Locale::Bn => "বাংলা",
        }
    }

    /// Urdu and Arabic are written right to left.
    pub fn is_rtl(self) -> bool {
        matches!(self, Locale::Ur | Locale::Ar)
    }

    /// A BCP 47 tag (`ur`, `ur-PK`, `bn_BD`, any case) by its language; the region is the
    /// currency's business, not the customer's (see `i18n`).
    pub fn parse(tag: &str) -> Result<Locale, LocaleError> {
        let language = tag.split(['-', '_']).next().unwrap_or_default();
        Locale::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(language))
            .ok_or(LocaleError)
    }
}

impl std::fmt::Display for Locale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_read_by_their_language() {
        assert_eq!(Locale::parse("ur"), Ok(Locale::Ur));
        assert_eq!(Locale::parse("ur-PK"), Ok(Locale::Ur));
        assert_eq!(Locale::parse("BN_bd"), Ok(Locale::Bn));
        assert_eq!(Locale::parse("hi-Latn-IN"), Ok(Locale::Hi));
        assert_eq!(Locale::parse("fr"), Err(LocaleError));
        assert_eq!(Locale::parse("urdu"), Err(LocaleError));
        assert_eq!(Locale::parse(""), Err(LocaleError));
        for l in Locale::ALL {
            assert_eq!(Locale::parse(l.code()), Ok(l));
        }
        assert!(Locale::Ar.is_rtl() && Locale::Ur.is_rtl() && !Locale::Bn.is_rtl());
    }
}
