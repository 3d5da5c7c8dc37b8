//! What the lint says about a statement: a [`Finding`] per rule it hit.

use crate::rule::{Rule, Severity};

/// A rule a statement hit, before it is placed in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub rule: Rule,
    /// What in particular (the column, the parser's message), when the
    /// rule's own sentence is not enough.
    pub detail: Option<String>,
}

impl Hit {
    pub fn new(rule: Rule) -> Self {
        Hit { rule, detail: None }
    }

    pub fn with(rule: Rule, detail: impl Into<String>) -> Self {
        Hit {
            rule,
            detail: Some(detail.into()),
        }
    }
}

/// One rule hit by one statement of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The file as the operator named it.
    pub file: String,
    /// The line (from 1) of the statement, or of what is wrong (the
    /// parser's error, the allow comment).
    pub line: usize,
    /// The statement on one line, shortened.
    pub statement: String,
    pub rule: Rule,
    pub detail: Option<String>,
    /// The reason of the allow comment that covers it: it no longer fails.
    pub allowed_because: Option<String>,
}

impl Finding {
    pub fn severity(&self) -> Severity {
        self.rule.severity()
    }

    /// Whether it fails the lint as dangerous (exit 1).
    pub fn is_dangerous(&self) -> bool {
        self.severity() == Severity::Dangerous && self.allowed_because.is_none()
    }

    /// Whether it fails the lint as an error (exit 2).
    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error && self.allowed_because.is_none()
    }
}

/// One file's findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    pub file: String,
    /// How many statements were found (parsed or not).
    pub statements: usize,
    /// In file order.
    pub findings: Vec<Finding>,
}

/// What the lint of a set of files comes to; the CLI maps it to its exit
/// codes (0, 1, 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing dangerous and nothing unjudged (warnings may be printed).
    Clean,
    /// A dangerous statement without an allow comment.
    Dangerous,
    /// Something could not be judged: a parse error or a broken allow
    /// comment. Worse than dangerous, since what was not read may be too.
    Broken,
}

/// Counts over every file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub files: usize,
    pub statements: usize,
    pub dangerous: usize,
    pub warnings: usize,
    pub info: usize,
    pub allowed: usize,
    pub errors: usize,
}

impl Summary {
    pub fn of(reports: &[FileReport]) -> Self {
        let mut summary = Summary {
            files: reports.len(),
            ..Summary::default()
        };
        for report in reports {
            summary.statements += report.statements;
            for finding in &report.findings {
                if finding.allowed_because.is_some() {
                    summary.allowed += 1;
                    continue;
                }
                match finding.severity() {
                    Severity::Safe => {}
                    Severity::Info => summary.info += 1,
                    Severity::Warning => summary.warnings += 1,
                    Severity::Dangerous => summary.dangerous += 1,
                    Severity::Error => summary.errors += 1,
                }
            }
        }
        summary
    }

    pub fn outcome(&self) -> Outcome {
        if self.errors > 0 {
            Outcome::Broken
        } else if self.dangerous > 0 {
            Outcome::Dangerous
        } else {
            Outcome::Clean
        }
    }
}
