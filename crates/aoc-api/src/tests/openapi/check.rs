//! Reading the served OpenAPI document, and judging a real answer against it: the status must
//! be documented for the operation, the body must validate against the schema documented for
//! its status and media type (JSON Schema 2020-12, formats checked), it must hold no property
//! the schema does not declare, and the documented headers must be there.

use axum::http::HeaderMap;
use serde_json::{Map, Value, json};

/// The served document.
pub struct Document(pub Value);

/// What one request got.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    /// The media type without parameters, lowercase.
    pub fn media_type(&self) -> Option<String> {
        self.headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(essence)
    }
}

pub fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

pub const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

impl Document {
    /// Every (METHOD, path) the document describes.
    pub fn operations(&self) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for (path, item) in self.0["paths"].as_object().into_iter().flatten() {
            for method in METHODS {
                if item.get(method).is_some() {
                    found.push((method.to_ascii_uppercase(), path.clone()));
                }
            }
        }
        found.sort();
        found
    }

    pub fn operation(&self, method: &str, path: &str) -> &Value {
        let operation = &self.0["paths"][path][method.to_ascii_lowercase()];
        assert!(
            operation.is_object(),
            "{method} {path} is not in the document"
        );
        operation
    }

    /// Follows a `$ref` within the document.
    pub fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let target = reference
                    .strip_prefix('#')
                    .and_then(|pointer| self.0.pointer(pointer))
                    .unwrap_or_else(|| panic!("{reference} does not resolve"));
                self.resolve(target)
            }
            None => value,
        }
    }

    /// The query parameters documented for an operation, by name.
    pub fn query_params<'a>(&'a self, method: &str, path: &str) -> Vec<&'a Value> {
        self.operation(method, path)["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| self.resolve(p))
            .filter(|p| p["in"] == "query")
            .collect()
    }

    /// A validator for `schema` (which may `$ref` the components), as JSON Schema 2020-12.
    fn validator(&self, schema: &Value) -> jsonschema::Validator {
        let mut root = match schema {
            Value::Object(map) => map.clone(),
            Value::Bool(b) => return validator_of(&Value::Bool(*b)),
            other => panic!("not a schema: {other}"),
        };
        root.insert("components".into(), self.0["components"].clone());
        validator_of(&Value::Object(root))
    }

    /// Why `value` does not fit `schema`, if it does not.
    pub fn misfits(&self, schema: &Value, value: &Value) -> Vec<String> {
        let validator = self.validator(schema);
        let mut problems: Vec<String> = validator
            .iter_errors(value)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        let mut extra = Vec::new();
        self.undeclared(schema, value, "$", &mut extra);
        problems.extend(
            extra
                .into_iter()
                .map(|at| format!("{at} is not in the schema")),
        );
        problems
    }

    /// Judges an answer to `method path` (the documented path template). Returns the media
    /// type it was judged as, `None` for an answer without a body.
    pub fn check(
        &self,
        method: &str,
        path: &str,
        answer: &Answer,
    ) -> Result<Option<String>, String> {
        let operation = self.operation(method, path);
        let status = answer.status.to_string();
        let Some(response) = operation["responses"].get(&status) else {
            return Err(format!(
                "{method} {path} answered {status}, which is not documented: {}",
                String::from_utf8_lossy(&answer.bytes)
            ));
        };
        let response = self.resolve(response);
        for name in response["headers"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(n, _)| n)
        {
            if !answer.headers.contains_key(name.as_str()) {
                return Err(format!("{method} {path} {status}: no {name} header"));
            }
        }
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            return if answer.bytes.is_empty() {
                Ok(None)
            } else {
                Err(format!(
                    "{method} {path} {status}: a body where none is documented: {}",
                    String::from_utf8_lossy(&answer.bytes)
                ))
            };
        };
        let media_type = answer
            .media_type()
            .ok_or_else(|| format!("{method} {path} {status}: no Content-Type"))?;
        let Some(media) = content.get(&media_type) else {
            return Err(format!(
                "{method} {path} {status}: {media_type} is not documented (only {:?})",
                content.keys().collect::<Vec<_>>()
            ));
        };
        let body = if media_type == "application/json" || media_type.ends_with("+json") {
            serde_json::from_slice(&answer.bytes)
                .map_err(|e| format!("{method} {path} {status}: not JSON: {e}"))?
        } else {
            Value::String(String::from_utf8_lossy(&answer.bytes).into_owned())
        };
        let problems = self.misfits(&media["schema"], &body);
        if problems.is_empty() {
            Ok(Some(media_type))
        } else {
            Err(format!(
                "{method} {path} {status} {media_type}: {problems:#?}\nbody: {body:#}"
            ))
        }
    }

    /// Properties of `value` that `schema` does not declare (plain validation lets them pass,
    /// since the schemas leave `additionalProperties` open).
    fn undeclared(&self, schema: &Value, value: &Value, at: &str, found: &mut Vec<String>) {
        let schema = self.resolve(schema);
        let branches = ["oneOf", "anyOf"]
            .iter()
            .filter_map(|key| schema.get(*key).and_then(Value::as_array))
            .next();
        if let Some(branches) = branches {
            // The branch that declares the most of the value.
            let best = branches
                .iter()
                .map(|branch| {
                    let mut missing = Vec::new();
                    if branch["type"] == "null" && !value.is_null() {
                        missing.push(format!("{at} is not null"));
                    } else {
                        self.undeclared(branch, value, at, &mut missing);
                    }
                    missing
                })
                .min_by_key(Vec::len)
                .unwrap_or_default();
            found.extend(best);
            return;
        }
        match value {
            Value::Object(object) => {
                let mut declared = Map::new();
                let mut additional = None;
                let mut free = false;
                self.gather(schema, &mut declared, &mut additional, &mut free);
                for (key, item) in object {
                    let here = format!("{at}.{key}");
                    if let Some(property) = declared.get(key) {
                        self.undeclared(property, item, &here, found);
                    } else if let Some(additional) = &additional {
                        self.undeclared(additional, item, &here, found);
                    } else if !free {
                        found.push(here);
                    }
                }
            }
            Value::Array(items) => {
                if let Some(each) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.undeclared(each, item, &format!("{at}[{i}]"), found);
                    }
                }
            }
            _ => {}
        }
    }

    /// The properties an object schema declares, through `allOf`; `free` when it says nothing
    /// about its properties (any JSON, such as an event's `raw`).
    fn gather(
        &self,
        schema: &Value,
        declared: &mut Map<String, Value>,
        additional: &mut Option<Value>,
        free: &mut bool,
    ) {
        let schema = self.resolve(schema);
        let mut said = false;
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            declared.extend(properties.clone());
            said = true;
        }
        match schema.get("additionalProperties") {
            Some(Value::Bool(false)) => said = true,
            Some(Value::Bool(true)) => *free = true,
            Some(other) => {
                *additional = Some(other.clone());
                said = true;
            }
            None => {}
        }
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            for part in parts {
                self.gather(part, declared, additional, free);
            }
            said = true;
        }
        if !said && schema.get("type").is_none_or(|t| t != "object") {
            *free = true;
        }
    }
}

fn validator_of(schema: &Value) -> jsonschema::Validator {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|e| panic!("not a JSON Schema 2020-12 schema ({e}): {schema:#}"))
}

/// A schema that refers to a component schema by name.
pub fn component(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}
