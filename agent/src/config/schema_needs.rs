//! `[checks.postgres.schema]`: what this color's code needs from the
//! database (tables, columns, enum values), as written ([`SchemaSettings`])
//! and checked ([`SchemaNeeds`]). The postgres probe compares the needs with
//! the live catalogs every round it is due and reports what is missing as
//! the component `postgres/schema`.
//!
//! Names are SQL identifiers as the catalog stores them (an unquoted
//! identifier is stored in lower case): letters, digits, `_` and `$`, not
//! starting with a digit, optionally qualified by their schema
//! (`public.customers`). Unqualified names resolve through the agent role's
//! `search_path`, as the application's own would.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::ConfigError;

const KEY: &str = "checks.postgres.schema";

/// The table as written. Every key may be left out; an empty table checks
/// nothing and is refused, so that a typo cannot disable the check.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaSettings {
    /// Tables (or views) that must exist: `customers`, `public.customers`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<String>,
    /// Columns that must exist: `customers.processing_started_at`, or with
    /// the schema, `public.customers.processing_started_at`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// Enum types and the values each must have (others may exist too):
    /// `{ queue_status_enum = ["waiting", "serving", "processing"] }`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub enum_values: BTreeMap<String, Vec<String>>,
}

/// A relation or type name, optionally schema-qualified.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct QualifiedName {
    pub(crate) schema: Option<String>,
    pub(crate) name: String,
}

impl QualifiedName {
    /// The name quoted for `to_regclass` / `to_regtype`, so that it is
    /// looked up exactly as written (no case folding).
    pub(crate) fn quoted(&self) -> String {
        match &self.schema {
            Some(schema) => format!("\"{schema}\".\"{}\"", self.name),
            None => format!("\"{}\"", self.name),
        }
    }
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ColumnNeed {
    pub(crate) table: QualifiedName,
    pub(crate) column: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EnumNeed {
    pub(crate) type_name: QualifiedName,
    pub(crate) values: Vec<String>,
}

/// The checked declaration: every name well formed, at least one need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SchemaNeeds {
    pub(crate) tables: Vec<QualifiedName>,
    pub(crate) columns: Vec<ColumnNeed>,
    pub(crate) enums: Vec<EnumNeed>,
}

impl SchemaSettings {
    pub(crate) fn validate(&self) -> Result<SchemaNeeds, ConfigError> {
        let tables = self
            .tables
            .iter()
            .map(|text| qualified(&format!("{KEY}.tables"), text, "TABLE or SCHEMA.TABLE"))
            .collect::<Result<Vec<_>, _>>()?;
        let columns = self
            .columns
            .iter()
            .map(|text| column(text))
            .collect::<Result<Vec<_>, _>>()?;
        let mut enums = Vec::new();
        for (type_text, values) in &self.enum_values {
            let key = format!("{KEY}.enum_values");
            let type_name = qualified(&key, type_text, "TYPE or SCHEMA.TYPE")?;
            if values.is_empty() {
                return Err(ConfigError::key(
                    key,
                    format!(
                        "{type_text}: no values listed; list the values the code uses, or leave the type out"
                    ),
                ));
            }
            if let Some(bad) = values.iter().find(|value| value.is_empty()) {
                return Err(ConfigError::key(
                    key,
                    format!(
                        "{type_text}: an empty value {bad:?}; enum values are non-empty labels"
                    ),
                ));
            }
            enums.push(EnumNeed {
                type_name,
                values: values.clone(),
            });
        }
        if tables.is_empty() && columns.is_empty() && enums.is_empty() {
            return Err(ConfigError::key(
                KEY,
                "declares nothing: list tables, columns or enum_values, or remove the table",
            ));
        }
        Ok(SchemaNeeds {
            tables,
            columns,
            enums,
        })
    }
}

fn column(text: &str) -> Result<ColumnNeed, ConfigError> {
    let key = format!("{KEY}.columns");
    let form = "TABLE.COLUMN or SCHEMA.TABLE.COLUMN";
    let parts = parts(&key, text, form)?;
    let (table, column) = match parts.as_slice() {
        [table, column] => (
            QualifiedName {
                schema: None,
                name: table.clone(),
            },
            column,
        ),
        [schema, table, column] => (
            QualifiedName {
                schema: Some(schema.clone()),
                name: table.clone(),
            },
            column,
        ),
        _ => {
            return Err(ConfigError::key(
                key,
                format!("{text:?} is not {form}: name the column's table too"),
            ));
        }
    };
    Ok(ColumnNeed {
        table,
        column: column.clone(),
    })
}

fn qualified(key: &str, text: &str, form: &str) -> Result<QualifiedName, ConfigError> {
    let parts = parts(key, text, form)?;
    match parts.as_slice() {
        [name] => Ok(QualifiedName {
            schema: None,
            name: name.clone(),
        }),
        [schema, name] => Ok(QualifiedName {
            schema: Some(schema.clone()),
            name: name.clone(),
        }),
        _ => Err(ConfigError::key(
            key,
            format!("{text:?} is not {form}: too many dots"),
        )),
    }
}

/// The dot-separated identifiers of `text`, each checked.
fn parts(key: &str, text: &str, form: &str) -> Result<Vec<String>, ConfigError> {
    if text.is_empty() {
        return Err(ConfigError::key(
            key,
            format!("an empty name; write {form}"),
        ));
    }
    text.split('.')
        .map(|part| match identifier_problem(part) {
            None => Ok(part.to_string()),
            Some(problem) => Err(ConfigError::key(
                key,
                format!("{text:?} is not {form}: {problem}"),
            )),
        })
        .collect()
}

fn identifier_problem(part: &str) -> Option<String> {
    let mut chars = part.chars();
    let Some(first) = chars.next() else {
        return Some("an empty part".to_string());
    };
    if part.len() > 63 {
        return Some(format!(
            "{part:?} is longer than PostgreSQL's 63-byte identifiers"
        ));
    }
    if !(first.is_ascii_alphabetic() || first == '_') {
        return Some(format!("{part:?} must start with a letter or _"));
    }
    if let Some(bad) = chars.find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '$')) {
        return Some(format!(
            "{part:?} contains {bad:?} (letters, digits, _ and $ only)"
        ));
    }
    None
}

impl SchemaNeeds {
    /// The guide's release 3.1 (green): the enum with 'processing' and
    /// customers.processing_started_at.
    #[cfg(test)]
    pub(crate) fn guide_green() -> SchemaNeeds {
        let settings = SchemaSettings {
            tables: vec!["customers".into()],
            columns: vec!["customers.processing_started_at".into()],
            enum_values: BTreeMap::from([(
                "queue_status_enum".into(),
                ["waiting", "serving", "processing", "completed", "cancelled"]
                    .map(String::from)
                    .to_vec(),
            )]),
        };
        settings.validate().unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(settings: SchemaSettings) -> String {
        settings.validate().unwrap_err().to_string()
    }

    #[test]
    fn the_guides_needs_are_accepted() {
        let needs = SchemaNeeds::guide_green();
        assert_eq!(needs.tables[0].to_string(), "customers");
        assert_eq!(needs.columns[0].table.quoted(), "\"customers\"");
        assert_eq!(needs.columns[0].column, "processing_started_at");
        assert_eq!(needs.enums[0].values.len(), 5);
    }

    #[test]
    fn schema_qualified_names_keep_their_schema() {
        let needs = SchemaSettings {
            tables: vec!["app.customers".into()],
            columns: vec!["app.customers.note".into()],
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(needs.tables[0].quoted(), "\"app\".\"customers\"");
        assert_eq!(needs.columns[0].table.to_string(), "app.customers");
    }

    #[test]
    fn each_bad_name_is_refused_with_its_key_and_the_form_wanted() {
        let cases = [
            (
                SchemaSettings {
                    columns: vec!["processing_started_at".into()],
                    ..Default::default()
                },
                "key \"checks.postgres.schema.columns\": \"processing_started_at\" is not TABLE.COLUMN or SCHEMA.TABLE.COLUMN: name the column's table too",
            ),
            (
                SchemaSettings {
                    tables: vec!["".into()],
                    ..Default::default()
                },
                "key \"checks.postgres.schema.tables\": an empty name; write TABLE or SCHEMA.TABLE",
            ),
            (
                SchemaSettings {
                    tables: vec!["customers..x".into()],
                    ..Default::default()
                },
                "is not TABLE or SCHEMA.TABLE: an empty part",
            ),
            (
                SchemaSettings {
                    columns: vec!["customers.processing started".into()],
                    ..Default::default()
                },
                "\"processing started\" contains ' ' (letters, digits, _ and $ only)",
            ),
            (
                SchemaSettings {
                    enum_values: BTreeMap::from([("queue_status_enum".into(), vec![])]),
                    ..Default::default()
                },
                "key \"checks.postgres.schema.enum_values\": queue_status_enum: no values listed",
            ),
            (
                SchemaSettings::default(),
                "key \"checks.postgres.schema\": declares nothing",
            ),
        ];
        for (settings, wanted) in cases {
            let text = refusal(settings);
            assert!(text.contains(wanted), "{text}\nwanted: {wanted}");
        }
    }
}
