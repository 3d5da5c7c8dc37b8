//! The `postgres/schema` component: what this color's code needs
//! ([`SchemaNeeds`]) against the live catalogs, on the connection the
//! postgres check keeps. One query reads what exists; what is missing is
//! worked out here, purely ([`missing`]), and named one item at a time.
//!
//! It reads `pg_catalog` (`to_regclass`, `pg_attribute`, `to_regtype`,
//! `pg_type`, `pg_enum`), which any role may read, and not
//! `information_schema.columns`, which shows only the columns of tables the
//! role has privileges on: the agent's role may only log in.

use std::collections::BTreeSet;
use std::time::Duration;

use greenlight_proto::limits::clamp_text;
use greenlight_proto::v1::{CheckResult, CheckStatus};
use tokio_postgres::Client;

use super::CHECK;
use crate::config::SchemaNeeds;
use crate::error_text::describe;
use crate::probe::{Extras, result_of};

/// The component's name: the check's key is `postgres/schema`.
pub(crate) const COMPONENT: &str = "schema";

/// What exists, for the names asked about: $1 the relations (tables, and
/// the tables of columns), $2 the enum types, each quoted as written.
const CATALOG_QUERY: &str = "\
SELECT 'relation'::text, t, ''::text FROM unnest($1::text[]) AS t WHERE to_regclass(t) IS NOT NULL
UNION ALL
SELECT 'column'::text, t, a.attname::text FROM unnest($1::text[]) AS t
  JOIN pg_catalog.pg_attribute a ON a.attrelid = to_regclass(t)
  WHERE a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'type'::text, t, ty.typtype::text FROM unnest($2::text[]) AS t
  JOIN pg_catalog.pg_type ty ON ty.oid = to_regtype(t)
UNION ALL
SELECT 'value'::text, t, e.enumlabel::text FROM unnest($2::text[]) AS t
  JOIN pg_catalog.pg_enum e ON e.enumtypid = to_regtype(t)";

/// What the catalogs hold of what was asked, keyed by the quoted names.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Catalog {
    relations: BTreeSet<String>,
    columns: BTreeSet<(String, String)>,
    /// Type name -> `typtype` ('e' for an enum).
    types: BTreeSet<(String, String)>,
    values: BTreeSet<(String, String)>,
}

pub(crate) struct SchemaCheck {
    needs: SchemaNeeds,
    /// A passing schema is read again every [`Extras`] rounds (a catalog
    /// query every round doubled the check's cost); a failing one every
    /// round, so that a candidate waiting for its migration is READY as
    /// soon as the migration is applied.
    cadence: Extras,
    last: Option<CheckResult>,
}

impl SchemaCheck {
    pub(crate) fn new(needs: SchemaNeeds) -> Self {
        SchemaCheck {
            needs,
            cadence: Extras::new(),
            last: None,
        }
    }

    /// This round's result: read afresh when due, else the last one.
    pub(crate) async fn check(&mut self, client: &Client) -> CheckResult {
        let failing = self
            .last
            .as_ref()
            .is_none_or(|last| last.status() != CheckStatus::Pass);
        if !self.cadence.due() && !failing {
            if let Some(last) = &self.last {
                return last.clone();
            }
        }
        let started = tokio::time::Instant::now();
        let (status, error) = match read_catalog(client, &self.needs).await {
            Ok(catalog) => {
                let missing = missing(&self.needs, &catalog);
                if missing.is_empty() {
                    (CheckStatus::Pass, String::new())
                } else {
                    (CheckStatus::Fail, missing.join("; "))
                }
            }
            Err(error) => (
                CheckStatus::Fail,
                format!("cannot read the schema from pg_catalog: {error}"),
            ),
        };
        let result = schema_result(status, error, started.elapsed());
        self.last = Some(result.clone());
        result
    }
}

fn schema_result(status: CheckStatus, mut error: String, took: Duration) -> CheckResult {
    clamp_text(&mut error);
    let mut result = result_of(CHECK, status, error, took);
    result.component = COMPONENT.to_string();
    result
}

async fn read_catalog(client: &Client, needs: &SchemaNeeds) -> Result<Catalog, String> {
    let mut relations: Vec<String> = needs.tables.iter().map(|t| t.quoted()).collect();
    relations.extend(needs.columns.iter().map(|c| c.table.quoted()));
    relations.sort();
    relations.dedup();
    let types: Vec<String> = needs.enums.iter().map(|e| e.type_name.quoted()).collect();
    let rows = client
        .query(CATALOG_QUERY, &[&relations, &types])
        .await
        .map_err(|error| describe(&error))?;
    let mut catalog = Catalog::default();
    for row in rows {
        let (kind, owner, name): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        match kind.as_str() {
            "relation" => {
                catalog.relations.insert(owner);
            }
            "column" => {
                catalog.columns.insert((owner, name));
            }
            "type" => {
                catalog.types.insert((owner, name));
            }
            _ => {
                catalog.values.insert((owner, name));
            }
        }
    }
    Ok(catalog)
}

/// Every need the catalog does not meet, in words, in the order declared:
/// "table customers does not exist", "column
/// customers.processing_started_at does not exist", "queue_status_enum has
/// no value 'processing'".
pub(crate) fn missing(needs: &SchemaNeeds, catalog: &Catalog) -> Vec<String> {
    let mut missing = Vec::new();
    let exists = |table: &crate::config::QualifiedName| catalog.relations.contains(&table.quoted());
    for table in &needs.tables {
        if !exists(table) {
            missing.push(format!("table {table} does not exist"));
        }
    }
    for need in &needs.columns {
        let key = (need.table.quoted(), need.column.clone());
        if !exists(&need.table) {
            missing.push(format!(
                "column {}.{} does not exist (there is no table {})",
                need.table, need.column, need.table
            ));
        } else if !catalog.columns.contains(&key) {
            missing.push(format!(
                "column {}.{} does not exist",
                need.table, need.column
            ));
        }
    }
    for need in &needs.enums {
        let quoted = need.type_name.quoted();
        let typtype = catalog
            .types
            .iter()
            .find(|(name, _)| *name == quoted)
            .map(|(_, typtype)| typtype.as_str());
        match typtype {
            None => missing.push(format!("type {} does not exist", need.type_name)),
            Some("e") => {
                for value in &need.values {
                    if !catalog.values.contains(&(quoted.clone(), value.clone())) {
                        missing.push(format!("{} has no value '{value}'", need.type_name));
                    }
                }
            }
            Some(_) => missing.push(format!("type {} is not an enum", need.type_name)),
        }
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalog before the guide's migration: the enum without
    /// 'processing', customers without processing_started_at.
    fn before_migration() -> Catalog {
        let customers = "\"customers\"".to_string();
        let status = "\"queue_status_enum\"".to_string();
        Catalog {
            relations: BTreeSet::from([customers.clone()]),
            columns: ["id", "queue_status"]
                .iter()
                .map(|c| (customers.clone(), c.to_string()))
                .collect(),
            types: BTreeSet::from([(status.clone(), "e".to_string())]),
            values: ["waiting", "serving", "completed", "cancelled"]
                .iter()
                .map(|v| (status.clone(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn before_the_migration_green_misses_the_value_and_the_column() {
        let missing = missing(&SchemaNeeds::guide_green(), &before_migration());
        assert_eq!(
            missing,
            [
                "column customers.processing_started_at does not exist",
                "queue_status_enum has no value 'processing'"
            ]
        );
    }

    #[test]
    fn after_the_migration_nothing_is_missing() {
        let mut catalog = before_migration();
        catalog
            .columns
            .insert(("\"customers\"".into(), "processing_started_at".into()));
        catalog
            .values
            .insert(("\"queue_status_enum\"".into(), "processing".into()));
        assert!(missing(&SchemaNeeds::guide_green(), &catalog).is_empty());
    }

    #[test]
    fn an_empty_database_names_each_missing_object_once() {
        let missing = missing(&SchemaNeeds::guide_green(), &Catalog::default());
        assert_eq!(
            missing,
            [
                "table customers does not exist",
                "column customers.processing_started_at does not exist (there is no table customers)",
                "type queue_status_enum does not exist"
            ]
        );
    }

    #[test]
    fn a_type_that_is_no_enum_is_named() {
        let mut catalog = before_migration();
        catalog.types = BTreeSet::from([("\"queue_status_enum\"".into(), "d".into())]);
        let missing = missing(&SchemaNeeds::guide_green(), &catalog);
        assert_eq!(
            missing.last().unwrap(),
            "type queue_status_enum is not an enum"
        );
    }
}
