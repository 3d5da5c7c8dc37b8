//! ALTER TABLE judged operation by operation: one statement may add a
//! column and drop another, and each is a finding of its own.

use sqlparser::ast::{
    AlterColumnOperation, AlterTable, AlterTableOperation, ColumnDef, ColumnOption, Expr,
    TableConstraint, Value,
};

use crate::context::Context;
use crate::finding::Hit;
use crate::rule::Rule;

/// Functions whose default PostgreSQL evaluates per row, so adding a
/// column with one rewrites the table (a constant or a stable default such
/// as now() is stored once, since PostgreSQL 11).
const VOLATILE: &[&str] = &[
    "random",
    "clock_timestamp",
    "timeofday",
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "nextval",
];

/// Types that are an integer with a `nextval()` default.
const SERIAL: &[&str] = &[
    "serial",
    "bigserial",
    "smallserial",
    "serial2",
    "serial4",
    "serial8",
];

pub fn classify(alter: &AlterTable, context: &Context) -> Vec<Hit> {
    let table = &alter.name;
    let mut hits = Vec::new();
    for operation in &alter.operations {
        match operation {
            AlterTableOperation::AddColumn { column_def, .. } => {
                hits.extend(added_column(column_def));
            }
            AlterTableOperation::DropColumn { column_names, .. } => hits.push(Hit::with(
                Rule::ColumnDropped,
                format!("{table}.{}", join(column_names)),
            )),
            AlterTableOperation::RenameColumn {
                old_column_name, ..
            } => hits.push(Hit::with(
                Rule::ColumnRenamed,
                format!("{table}.{old_column_name}"),
            )),
            AlterTableOperation::RenameTable { .. } => {
                hits.push(Hit::with(Rule::TableRenamed, table.to_string()));
            }
            AlterTableOperation::RenameConstraint { old_name, .. } => hits.push(Hit::with(
                Rule::ObjectRenamed,
                format!("constraint {old_name} of {table}"),
            )),
            AlterTableOperation::AlterColumn { column_name, op } => {
                let column = format!("{table}.{column_name}");
                hits.push(match op {
                    AlterColumnOperation::SetDataType { .. } => {
                        Hit::with(Rule::ColumnTypeChanged, column)
                    }
                    // A table this file created has no rows and no old code.
                    AlterColumnOperation::SetNotNull if context.created_here(table) => {
                        Hit::new(Rule::TableCreated)
                    }
                    AlterColumnOperation::SetNotNull => Hit::with(Rule::NotNullSet, column),
                    AlterColumnOperation::DropNotNull | AlterColumnOperation::SetDefault { .. } => {
                        Hit::new(Rule::ColumnRelaxed)
                    }
                    other => Hit::with(Rule::NotClassified, format!("ALTER COLUMN {other}")),
                });
            }
            AlterTableOperation::AddConstraint {
                constraint,
                not_valid,
            } => hits.extend(added_constraint(constraint, *not_valid)),
            other => hits.push(Hit::with(Rule::NotClassified, first_words(other))),
        }
    }
    hits
}

fn added_column(column: &ColumnDef) -> Vec<Hit> {
    let name = &column.name;
    let options: Vec<&ColumnOption> = column.options.iter().map(|def| &def.option).collect();
    let data_type = column.data_type.to_string().to_lowercase();
    let serial = SERIAL.contains(&data_type.as_str());
    let generated = options
        .iter()
        .any(|option| matches!(option, ColumnOption::Generated { .. }));
    let default = options.iter().find_map(|option| match option {
        ColumnOption::Default(expr) if !is_null(expr) => Some(expr),
        _ => None,
    });
    let not_null = options
        .iter()
        .any(|option| matches!(option, ColumnOption::NotNull | ColumnOption::PrimaryKey(_)));

    let mut hits = Vec::new();
    if not_null && default.is_none() && !serial && !generated {
        hits.push(Hit::with(
            Rule::NotNullColumnWithoutDefault,
            name.to_string(),
        ));
    } else {
        hits.push(Hit::with(Rule::ColumnAdded, name.to_string()));
    }
    if let Some(function) = default.and_then(volatile_call) {
        hits.push(Hit::with(
            Rule::ColumnDefaultRewritesTable,
            format!("{name} DEFAULT {function}()"),
        ));
    } else if serial || generated {
        hits.push(Hit::with(
            Rule::ColumnDefaultRewritesTable,
            format!(
                "{name} {}",
                if serial {
                    data_type.as_str()
                } else {
                    "GENERATED"
                }
            ),
        ));
    }
    if options.iter().any(|option| {
        matches!(
            option,
            ColumnOption::PrimaryKey(_) | ColumnOption::Unique(_)
        )
    }) {
        hits.push(Hit::with(Rule::ConstraintBuildsIndex, name.to_string()));
    }
    hits
}

fn added_constraint(constraint: &TableConstraint, not_valid: bool) -> Vec<Hit> {
    let mut hits = vec![Hit::new(Rule::ConstraintAdded)];
    match constraint {
        TableConstraint::ForeignKey(_) | TableConstraint::Check(_) if !not_valid => {
            hits.push(Hit::new(Rule::ConstraintWithoutNotValid));
        }
        TableConstraint::PrimaryKey(_) | TableConstraint::Unique(_) => {
            hits.push(Hit::new(Rule::ConstraintBuildsIndex));
        }
        _ => {}
    }
    hits
}

fn is_null(expr: &Expr) -> bool {
    matches!(expr, Expr::Value(value) if value.value == Value::Null)
}

/// The first volatile function `expr` calls, by name.
fn volatile_call(expr: &Expr) -> Option<&'static str> {
    let text = expr.to_string().to_lowercase();
    VOLATILE.iter().copied().find(|name| {
        text.match_indices(&format!("{name}(")).any(|(at, _)| {
            text[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
        })
    })
}

fn join(names: &[sqlparser::ast::Ident]) -> String {
    names
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// "ALTER TABLE ... SET TABLESPACE": the operation's first words.
fn first_words(operation: &AlterTableOperation) -> String {
    let text = operation.to_string();
    let words: Vec<&str> = text.split_whitespace().take(3).collect();
    format!("ALTER TABLE ... {}", words.join(" "))
}
