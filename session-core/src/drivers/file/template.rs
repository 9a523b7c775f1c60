//! File names: the configurable template for session files, and the names of
//! the lock and temporary files kept beside them.

use std::fmt;

use super::error::FileDriverError;
use crate::id::SessionId;

/// The placeholder a file name template must contain exactly once.
const PLACEHOLDER: &str = "{id}";

/// Longest template accepted, in bytes, `{id}` excluded. Session file names
/// must stay under the 255-byte limit of common file systems together with
/// the id (43 bytes) and the longest companion name (a temporary file adds
/// about 40 bytes).
pub(super) const MAX_TEMPLATE_BYTES: usize = 160;

/// A validated file name template such as `sess_{id}`.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Template {
    prefix: String,
    suffix: String,
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{PLACEHOLDER}{}", self.prefix, self.suffix)
    }
}

/// What a directory entry is to the driver.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Entry {
    /// The record of a session.
    Session(SessionId),
    /// The lock file of a session.
    Lock(SessionId),
    /// A temporary file left by an interrupted write of a session.
    Temp(SessionId),
}

impl Template {
    /// Checks `template`: `{id}` exactly once, no other brace, no path
    /// separator or NUL, and not too long.
    pub(super) fn parse(template: &str) -> Result<Self, FileDriverError> {
        let err = |problem| FileDriverError::Template {
            template: template.to_owned(),
            problem,
        };
        use super::error::TemplateProblem as P;
        let Some((prefix, suffix)) = template.split_once(PLACEHOLDER) else {
            return Err(err(P::MissingId));
        };
        if suffix.contains(PLACEHOLDER) {
            return Err(err(P::RepeatedId));
        }
        let fixed = || prefix.chars().chain(suffix.chars());
        if fixed().any(|c| c == '/' || c == '\\' || c == '\0') {
            return Err(err(P::PathSeparator));
        }
        if fixed().any(|c| c == '{' || c == '}') {
            return Err(err(P::StrayBrace));
        }
        if prefix.len() + suffix.len() > MAX_TEMPLATE_BYTES {
            return Err(err(P::TooLong {
                max: MAX_TEMPLATE_BYTES,
            }));
        }
        Ok(Self {
            prefix: prefix.to_owned(),
            suffix: suffix.to_owned(),
        })
    }

    /// The session file's name for `id`.
    pub(super) fn session(&self, id: &SessionId) -> String {
        format!("{}{}{}", self.prefix, id.as_str(), self.suffix)
    }

    /// The lock file's name for `id`.
    pub(super) fn lock(&self, id: &SessionId) -> String {
        format!(".{}.lock", self.session(id))
    }

    /// A temporary file's name for `id`; `unique` tells concurrent writers
    /// apart.
    pub(super) fn temp(&self, id: &SessionId, unique: &str) -> String {
        format!(".{}.{unique}.tmp", self.session(id))
    }

    /// The id in a session file's name, if `name` is one.
    fn session_id(&self, name: &str) -> Option<SessionId> {
        let id = name
            .strip_prefix(&self.prefix)?
            .strip_suffix(&self.suffix)?;
        SessionId::parse(id).ok()
    }

    /// What `name` is, if it is one of the driver's files. The three kinds
    /// cannot be confused: for one template their names differ in length by
    /// more than nothing, and a session name has exactly an id's length
    /// between prefix and suffix.
    pub(super) fn classify(&self, name: &str) -> Option<Entry> {
        if let Some(id) = self.session_id(name) {
            return Some(Entry::Session(id));
        }
        let hidden = name.strip_prefix('.')?;
        if let Some(session) = hidden.strip_suffix(".lock") {
            return self.session_id(session).map(Entry::Lock);
        }
        let (session, unique) = hidden.strip_suffix(".tmp")?.rsplit_once('.')?;
        if unique.is_empty()
            || !unique
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return None;
        }
        self.session_id(session).map(Entry::Temp)
    }
}

/// The `file_template` fuzz target's way in: parses `template` and, if it
/// is valid, checks that the names it makes for the id `id` classify back as
/// that id's session, lock and temporary file, and that `name` either is not
/// one of the driver's files or names exactly the file it classifies as.
#[cfg(fuzzing)]
pub fn fuzz_template(template: &str, id: &[u8; 32], name: &str) {
    let Ok(t) = Template::parse(template) else {
        return;
    };
    let id = SessionId::from_bytes(id);
    assert_eq!(
        t.classify(&t.session(&id)),
        Some(Entry::Session(id.clone()))
    );
    assert_eq!(t.classify(&t.lock(&id)), Some(Entry::Lock(id.clone())));
    assert_eq!(t.classify(&t.temp(&id, "a1-b2")), Some(Entry::Temp(id)));
    match t.classify(name) {
        None => {}
        Some(Entry::Session(id)) => assert_eq!(t.session(&id), name),
        Some(Entry::Lock(id)) => assert_eq!(t.lock(&id), name),
        Some(Entry::Temp(id)) => assert!(name.starts_with(&format!(".{}.", t.session(&id)))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::error::TemplateProblem;
    use super::*;

    fn problem(template: &str) -> TemplateProblem {
        match Template::parse(template) {
            Err(FileDriverError::Template { problem, .. }) => problem,
            other => panic!("{template:?} gave {other:?}"),
        }
    }

    #[test]
    fn validation_names_the_problem() {
        assert_eq!(problem("sess_"), TemplateProblem::MissingId);
        assert_eq!(problem(""), TemplateProblem::MissingId);
        assert_eq!(problem("{ID}"), TemplateProblem::MissingId);
        assert_eq!(problem("{id}_{id}"), TemplateProblem::RepeatedId);
        assert_eq!(problem("../{id}"), TemplateProblem::PathSeparator);
        assert_eq!(problem("sub/{id}"), TemplateProblem::PathSeparator);
        assert_eq!(problem("{id}\\x"), TemplateProblem::PathSeparator);
        assert_eq!(problem("{id}\0"), TemplateProblem::PathSeparator);
        assert_eq!(problem("{user}_{id}"), TemplateProblem::StrayBrace);
        assert_eq!(problem("{id}}"), TemplateProblem::StrayBrace);
        let long = format!("{}{{id}}", "x".repeat(MAX_TEMPLATE_BYTES + 1));
        assert_eq!(
            problem(&long),
            TemplateProblem::TooLong {
                max: MAX_TEMPLATE_BYTES
            }
        );
        for ok in [
            "sess_{id}",
            "{id}",
            "{id}.json",
            ".{id}.tmp",
            "ünï_{id}.lock",
        ] {
            let t = Template::parse(ok).unwrap();
            assert_eq!(t.to_string(), ok);
        }
    }

    #[test]
    fn names_are_classified_back_to_their_id() {
        let id = SessionId::generate();
        for text in [
            "sess_{id}",
            "{id}",
            ".{id}.tmp",
            "{id}.lock",
            "x{id}.5-5.tmp",
        ] {
            let t = Template::parse(text).unwrap();
            assert_eq!(
                t.classify(&t.session(&id)),
                Some(Entry::Session(id.clone()))
            );
            assert_eq!(t.classify(&t.lock(&id)), Some(Entry::Lock(id.clone())));
            assert_eq!(
                t.classify(&t.temp(&id, "12-3")),
                Some(Entry::Temp(id.clone()))
            );
            for other in [
                "README",
                "sess_short",
                ".lock",
                "..tmp",
                &format!("{}.bak", t.session(&id)),
                &format!(".{}.x_y.tmp", t.session(&id)),
            ] {
                assert_eq!(t.classify(other), None, "{text}: {other}");
            }
        }
    }

    #[test]
    fn every_name_fits_a_file_system() {
        let t = Template::parse(&format!("{}{{id}}", "x".repeat(MAX_TEMPLATE_BYTES))).unwrap();
        let id = SessionId::generate();
        let unique = format!("{}-{:016x}", u32::MAX, u64::MAX);
        assert!(t.temp(&id, &unique).len() <= 255);
        assert!(t.lock(&id).len() <= 255);
    }
}
