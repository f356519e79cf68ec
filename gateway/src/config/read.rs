//! TOML text -> [`super::file`] structs, so that one mistake does not hide the next.
//!
//! The top-level sections and each `[[domain]]` are read on their own. When serde cannot read a
//! value, the problem is recorded with its key path, the innermost key on that path is taken out
//! of the table, and the table is read again: a value with a default falls back to it, and the
//! rest of the file is still read and validated. A required key that is missing takes its whole
//! table with it (`[[domain.rate_limit]]` without `per` drops the domain's rate-limit rules from
//! validation, not the domain). Keys taken out are remembered so that validation does not report
//! them a second time as absent.

use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use super::file::{FileAppSettings, FileConfig, FileDomain};
use super::key_path::{self, Step};
use super::message::{self, Explained};

/// A value that could not be read.
pub(super) struct ReadProblem {
    pub key: String,
    /// Where it is written, when it is.
    pub span: Option<Range<usize>>,
    pub problem: String,
}

/// The file as far as it could be read.
pub(super) struct ReadFile {
    /// Everything outside `[[domain]]`, which is read separately: `top.domains` is empty.
    pub top: FileConfig,
    /// Each `[[domain]]` in file order; `None` where one could not be read at all.
    pub domains: Vec<Option<FileDomain>>,
    pub problems: Vec<ReadProblem>,
    /// Keys taken out because their value could not be read.
    pub unread: Unread,
}

/// Keys taken out because their value could not be read (`domain[0].rate_limit`).
#[derive(Default)]
pub(super) struct Unread(Vec<String>);

impl Unread {
    /// Whether `key` is one of them or lies under one.
    pub fn covers(&self, key: &str) -> bool {
        self.0.iter().any(|u| {
            key.strip_prefix(u.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        })
    }

    fn add(&mut self, key: String) {
        self.0.push(key);
    }
}

pub(super) fn read(doc: &Spanned<DeTable<'_>>) -> ReadFile {
    let mut reader = Reader {
        doc: key_path::document(doc),
        problems: Vec::new(),
        unread: Unread::default(),
    };
    let mut top = doc.get_ref().clone();
    let domains = top.remove("domain");
    let mut top = Spanned::new(doc.span(), DeValue::Table(top));
    let top = reader
        .lenient::<FileConfig>(&mut top, &[])
        .unwrap_or_default();
    let domains = match domains {
        None => Vec::new(),
        Some(d) => reader.domains(d),
    };
    let Reader {
        mut problems,
        unread,
        ..
    } = reader;
    // In file order, whatever order the sections were read in.
    problems.sort_by_key(|p| p.span.as_ref().map_or(usize::MAX, |s| s.start));
    ReadFile {
        top,
        domains,
        problems,
        unread,
    }
}

struct Reader<'i> {
    /// The whole file, untouched: where each problem is written.
    doc: Spanned<DeValue<'i>>,
    problems: Vec<ReadProblem>,
    unread: Unread,
}

impl<'i> Reader<'i> {
    fn domains(&mut self, value: Spanned<DeValue<'i>>) -> Vec<Option<FileDomain>> {
        let span = value.span();
        match value.into_inner() {
            DeValue::Array(list) => list
                .into_iter()
                .enumerate()
                .map(|(i, d)| self.domain(i, d))
                .collect(),
            _ => {
                self.problem(
                    &[Step::Key("domain".into())],
                    Some(span),
                    "expected [[domain]] tables: write each header with double brackets",
                );
                self.unread.add("domain".into());
                Vec::new()
            }
        }
    }

    fn domain(&mut self, i: usize, mut value: Spanned<DeValue<'i>>) -> Option<FileDomain> {
        let at = [Step::Key("domain".into()), Step::Index(i)];
        self.app_settings(&mut value, &at);
        self.lenient(&mut value, &at)
    }

    /// `[[domain.app]]` settings are read through serde's `flatten`, which loses the key of a
    /// value it cannot read: read them on their own first, so a problem names its key, and take
    /// out what cannot be read.
    fn app_settings(&mut self, domain: &mut Spanned<DeValue<'i>>, at: &[Step]) {
        let DeValue::Table(table) = domain.get_mut() else {
            return;
        };
        let Some(DeValue::Array(apps)) = table.get_mut("app").map(Spanned::get_mut) else {
            return;
        };
        for (j, app) in apps.iter_mut().enumerate() {
            let span = app.span();
            let DeValue::Table(fields) = app.get_mut() else {
                continue;
            };
            let mut settings = fields.clone();
            let client_id = settings.remove_entry("client_id");
            let mut settings = Spanned::new(span, DeValue::Table(settings));
            let mut app_at = at.to_vec();
            app_at.extend([Step::Key("app".into()), Step::Index(j)]);
            let _: Option<FileAppSettings> = self.lenient(&mut settings, &app_at);
            if let DeValue::Table(mut kept) = settings.into_inner() {
                kept.extend(client_id);
                *fields = kept;
            }
        }
    }

    /// Reads a `T` from `value`, recording and taking out each value that cannot be read until
    /// the rest can; `None` when what is left still cannot be (a required key is missing).
    fn lenient<T: DeserializeOwned>(
        &mut self,
        value: &mut Spanned<DeValue<'i>>,
        at: &[Step],
    ) -> Option<T> {
        loop {
            let error =
                match serde_path_to_error::deserialize(ValueDeserializer::from(value.clone())) {
                    Ok(t) => return Some(t),
                    Err(e) => e,
                };
            let within = key_path::from_serde(error.path());
            let mut path = at.to_vec();
            path.extend(within.iter().cloned());
            let span = error.inner().span().filter(|s| !s.is_empty());
            match message::explain(error.inner().message()) {
                Explained::Missing(field) => {
                    let mut missing = path.clone();
                    missing.push(Step::Key(field));
                    // A key taken out in an earlier round is not reported again as missing.
                    if !self.unread.covers(&key_path::render(&missing)) {
                        self.problem(&missing, None, "required, but not set");
                    }
                }
                Explained::Unknown { key, allowed } => {
                    self.problem(&path, span, &message::unknown_key(&key, &allowed));
                }
                Explained::Other(text) => self.problem(&path, span, &text),
            }
            // Take out the innermost key: the bad value itself, or the table missing a key.
            let removed = key_path::remove(value, &within)?;
            let mut gone = at.to_vec();
            gone.extend(within[..removed].iter().cloned());
            self.unread.add(key_path::render(&gone));
        }
    }

    fn problem(&mut self, path: &[Step], span: Option<Range<usize>>, text: &str) {
        let span = span.or_else(|| key_path::written_at(&self.doc, path));
        self.problems.push(ReadProblem {
            key: key_path::render(path),
            span,
            problem: text.to_owned(),
        });
    }
}
