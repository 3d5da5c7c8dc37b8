//! A parsed statement judged by the rules: which it hits, and what it
//! changes in the file's [`Context`]. ALTER TABLE's operations are judged
//! in `alter_table`.

use sqlparser::ast::{
    AlterIndexOperation, AlterSchemaOperation, AlterTypeOperation, AlterViewOperation, ObjectType,
    Statement,
};

use crate::alter_table;
use crate::context::Context;
use crate::finding::Hit;
use crate::rule::Rule;

/// The rules `statement`, starting on `line`, hits.
pub fn classify(statement: &Statement, line: usize, context: &mut Context) -> Vec<Hit> {
    match statement {
        Statement::StartTransaction { .. } => {
            context.begin(line);
            vec![Hit::new(Rule::NoSchemaChange)]
        }
        Statement::Commit { .. }
        | Statement::Rollback {
            savepoint: None, ..
        } => {
            context.end();
            vec![Hit::new(Rule::NoSchemaChange)]
        }
        Statement::Rollback { .. }
        | Statement::Savepoint { .. }
        | Statement::ReleaseSavepoint { .. }
        | Statement::Set(_)
        | Statement::Reset(_)
        | Statement::Comment { .. }
        | Statement::Analyze(_)
        | Statement::Query(_) => vec![Hit::new(Rule::NoSchemaChange)],

        Statement::CreateTable(create) => {
            context.table_created(&create.name);
            let mut hits = vec![Hit::new(Rule::TableCreated)];
            if create.query.is_some() {
                hits.push(Hit::new(Rule::TableCopied));
            }
            hits
        }
        Statement::CreateIndex(index) => {
            let mut hits = vec![Hit::new(Rule::IndexCreated)];
            if index.concurrently && context.in_transaction() {
                hits.push(Hit::new(Rule::ConcurrentlyInTransaction));
            }
            if !index.concurrently && !context.created_here(&index.table_name) {
                hits.push(Hit::with(
                    Rule::IndexNotConcurrent,
                    format!("on {}", index.table_name),
                ));
            }
            hits
        }
        Statement::CreateFunction(function) => created_function(function.or_replace),
        Statement::CreateProcedure { or_alter, .. } => created_function(*or_alter),
        Statement::CreateView(view) if view.or_replace => vec![Hit::with(
            Rule::NotClassified,
            "CREATE OR REPLACE VIEW changes a view the old color may read",
        )],
        Statement::CreateView(_)
        | Statement::CreateType { .. }
        | Statement::CreateSequence { .. }
        | Statement::CreateExtension(_)
        | Statement::CreateSchema { .. }
        | Statement::CreateDomain(_) => vec![Hit::new(Rule::ObjectCreated)],

        Statement::AlterTable(alter) => alter_table::classify(alter, context),
        Statement::AlterType(alter) => match &alter.operation {
            AlterTypeOperation::AddValue(add) => {
                context.value_added(&add.value.value, line);
                let mut hits = vec![Hit::new(Rule::EnumValueAdded)];
                if context.in_transaction() {
                    hits.push(Hit::new(Rule::EnumValueAddedInTransaction));
                }
                hits
            }
            AlterTypeOperation::RenameValue(rename) => vec![Hit::with(
                Rule::EnumValueRenamed,
                format!("'{}' of {}", rename.from.value, alter.name),
            )],
            AlterTypeOperation::Rename(_) => {
                vec![Hit::with(Rule::TypeRenamed, alter.name.to_string())]
            }
        },
        Statement::AlterIndex {
            name,
            operation: AlterIndexOperation::RenameIndex { .. },
        } => vec![Hit::with(Rule::ObjectRenamed, format!("index {name}"))],
        Statement::AlterView(view)
            if matches!(view.operation, AlterViewOperation::RenameTo { .. }) =>
        {
            vec![Hit::with(
                Rule::ObjectRenamed,
                format!("view {}", view.name),
            )]
        }
        Statement::AlterSchema(schema)
            if schema
                .operations
                .iter()
                .any(|operation| matches!(operation, AlterSchemaOperation::Rename { .. })) =>
        {
            vec![Hit::with(
                Rule::ObjectRenamed,
                format!("schema {}", schema.name),
            )]
        }
        Statement::RenameTable(_) => vec![Hit::new(Rule::TableRenamed)],

        Statement::Drop {
            object_type, names, ..
        } => dropped(*object_type, &names_of(names)),
        Statement::DropFunction(_)
        | Statement::DropProcedure { .. }
        | Statement::DropDomain(_)
        | Statement::DropExtension(_) => vec![Hit::new(Rule::ObjectDropped)],
        Statement::Truncate(_) => vec![Hit::new(Rule::TableTruncated)],

        Statement::Insert(_)
        | Statement::Update(_)
        | Statement::Delete(_)
        | Statement::Merge(_)
        | Statement::Copy { .. } => vec![Hit::new(Rule::DataChanged)],

        other => vec![Hit::with(Rule::NotClassified, leading_words(other))],
    }
}

fn created_function(replaces: bool) -> Vec<Hit> {
    let mut hits = vec![Hit::new(Rule::FunctionCreated)];
    if replaces {
        hits.push(Hit::new(Rule::FunctionReplaced));
    }
    hits
}

fn dropped(object_type: ObjectType, names: &str) -> Vec<Hit> {
    let hit = match object_type {
        ObjectType::Table | ObjectType::ForeignTable => Hit::with(Rule::TableDropped, names),
        ObjectType::Index => Hit::with(Rule::IndexDropNotConcurrent, names),
        ObjectType::View
        | ObjectType::MaterializedView
        | ObjectType::Sequence
        | ObjectType::Schema
        | ObjectType::Type
        | ObjectType::Collation => Hit::with(Rule::ObjectDropped, format!("{object_type} {names}")),
        other => Hit::with(Rule::NotClassified, format!("DROP {other}")),
    };
    vec![hit]
}

fn names_of(names: &[sqlparser::ast::ObjectName]) -> String {
    names
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// "CREATE TRIGGER", "GRANT": enough to say what was not classified.
fn leading_words(statement: &Statement) -> String {
    let text = statement.to_string();
    let words: Vec<&str> = text
        .split_whitespace()
        .take_while(|word| word.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .take(3)
        .collect();
    if words.is_empty() {
        "this statement".to_owned()
    } else {
        words.join(" ")
    }
}
