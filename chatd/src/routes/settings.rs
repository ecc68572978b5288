//! A conversation's own settings at the HTTP edge: `model`, `system_prompt` and `params`
//! read from `POST /conversations/` and `PATCH /conversations/{id}` bodies and checked
//! into FastAPI-shaped 422 items, and the settings object those routes and
//! `GET /conversations/{id}/settings` answer with. The limits are in `docs/API.md` §8.

use common::{ChatParams, ConversationSettings};
use serde_json::{Value, json};

use super::error::Invalid;
use super::input::{self, Fields};
use super::{App, MESSAGE_MAX_CHARS};
use crate::store::{ConversationRow, ConversationSettingsRow};

/// The longest model string, `PROVIDER/MODEL` included.
pub const MODEL_MAX_CHARS: usize = 200;
const MAX_TOKENS_MAX: i64 = 1_000_000;

/// What a body says of one field: `None` when the field is absent, `Some(None)` for
/// `null` (chatd's default), `Some(Some(value))` for a value.
pub type Given<T> = Option<Option<T>>;

/// The settings a body gives, as they are to be stored (`params` as its JSON text).
#[derive(Debug, Default)]
pub struct SettingsInput {
    pub model: Given<String>,
    pub system_prompt: Given<String>,
    pub params: Given<String>,
}

impl SettingsInput {
    /// As the columns of a new conversation: what is absent or `null` is the default.
    pub fn into_row(self) -> ConversationSettingsRow {
        ConversationSettingsRow {
            model: self.model.flatten(),
            system_prompt: self.system_prompt.flatten(),
            params: self.params.flatten(),
            title_source: None,
        }
    }
}

/// Reads `model`, `system_prompt` and `params`; problems go into `fields.errors`. The
/// model is checked against the providers too.
pub async fn read(app: &App, fields: &mut Fields<'_>) -> SettingsInput {
    let model = given(fields, "model", |fields| {
        fields.optional_string("model", MODEL_MAX_CHARS).flatten()
    });
    let system_prompt = given(fields, "system_prompt", |fields| {
        fields
            .optional_string("system_prompt", MESSAGE_MAX_CHARS)
            .flatten()
    });
    let params = given(fields, "params", |fields| {
        let value = fields.get("params")?;
        let params = read_params(value, &mut fields.errors)?;
        // An empty object is no params of the conversation's own: the defaults.
        if params.is_empty() {
            return None;
        }
        serde_json::to_string(&params).ok()
    });
    if let Some(Some(model)) = &model
        && let Err(problem) = check_model(app, model).await
    {
        fields.errors.push(problem);
    }
    SettingsInput {
        model,
        system_prompt,
        params,
    }
}

/// A field's three states; `read` runs only when it holds something other than `null`
/// and yields `None` after recording a problem, or for a value that means the default.
pub fn given<T>(
    fields: &mut Fields<'_>,
    name: &str,
    read: impl FnOnce(&mut Fields<'_>) -> Option<T>,
) -> Given<T> {
    match fields.get(name) {
        None => None,
        Some(Value::Null) => Some(None),
        Some(_) => Some(read(fields)),
    }
}

/// Whether chats can be sent to `model`: its form, then whether its provider has it
/// (as far as the provider registry can tell now).
pub async fn check_model(app: &App, model: &str) -> Result<(), Invalid> {
    let loc = Fields::loc("model");
    if model.is_empty() {
        return Err(Invalid::new(
            "string_too_short",
            loc,
            "String should have at least 1 character",
            json!(model),
        )
        .with_ctx(json!({ "min_length": 1 })));
    }
    if model.chars().any(char::is_control) {
        return Err(input::value_error(
            loc,
            model,
            "model must not contain control characters",
        ));
    }
    if model.trim() != model {
        return Err(input::value_error(
            loc,
            model,
            "model must not start or end with blanks",
        ));
    }
    app.providers
        .check_model(model)
        .await
        .map_err(|unknown| input::value_error(Fields::loc("model"), model, &unknown.0))
}

/// `params` as pydantic reads a model declared with `extra="forbid"`: every problem
/// recorded, each with its own `loc`.
fn read_params(value: &Value, errors: &mut Vec<Invalid>) -> Option<ChatParams> {
    let Value::Object(object) = value else {
        errors.push(
            Invalid::new(
                "model_type",
                vec![json!("body"), json!("params")],
                "Input should be a valid dictionary or instance of ChatParams",
                value.clone(),
            )
            .with_ctx(json!({ "class_name": "ChatParams" })),
        );
        return None;
    };
    let before = errors.len();
    let mut params = ChatParams::default();
    for (name, value) in object {
        let loc = vec![json!("body"), json!("params"), json!(name)];
        if value.is_null() {
            if !is_param(name) {
                errors.push(input::extra_forbidden(loc, value));
            }
            continue;
        }
        let read = match name.as_str() {
            "temperature" => bounded_float(loc, value, 0, 2).map(|t| params.temperature = Some(t)),
            "top_p" => bounded_float(loc, value, 0, 1).map(|p| params.top_p = Some(p)),
            "max_tokens" => input::bounded_int(loc, value, 1, MAX_TOKENS_MAX)
                .map(|n| params.max_tokens = u32::try_from(n).ok()),
            "seed" => input::bounded_int(loc, value, i64::MIN, i64::MAX)
                .map(|seed| params.seed = Some(seed)),
            _ => Err(Box::new(input::extra_forbidden(loc, value))),
        };
        if let Err(problem) = read {
            errors.push(*problem);
        }
    }
    (errors.len() == before).then_some(params)
}

fn is_param(name: &str) -> bool {
    matches!(name, "temperature" | "top_p" | "max_tokens" | "seed")
}

/// A number within `min..=max`, as pydantic's lax `float = Field(ge=min, le=max)`
/// reads one: JSON numbers and strings of a number; booleans are refused, as chatd's
/// integers refuse them.
fn bounded_float(loc: Vec<Value>, value: &Value, min: i64, max: i64) -> Result<f64, Box<Invalid>> {
    let number = match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => match text.trim().parse::<f64>() {
            Ok(number) if number.is_finite() => Some(number),
            Ok(_) => {
                return Err(Box::new(Invalid::new(
                    "finite_number",
                    loc,
                    "Input should be a finite number",
                    value.clone(),
                )));
            }
            Err(_) => {
                return Err(Box::new(Invalid::new(
                    "float_parsing",
                    loc,
                    "Input should be a valid number, unable to parse string as a number",
                    value.clone(),
                )));
            }
        },
        _ => None,
    };
    let Some(number) = number else {
        return Err(Box::new(Invalid::new(
            "float_type",
            loc,
            "Input should be a valid number",
            value.clone(),
        )));
    };
    if number < min as f64 {
        return Err(Box::new(
            Invalid::new(
                "greater_than_equal",
                loc,
                format!("Input should be greater than or equal to {min}"),
                value.clone(),
            )
            .with_ctx(json!({ "ge": min })),
        ));
    }
    if number > max as f64 {
        return Err(Box::new(
            Invalid::new(
                "less_than_equal",
                loc,
                format!("Input should be less than or equal to {max}"),
                value.clone(),
            )
            .with_ctx(json!({ "le": max })),
        ));
    }
    Ok(number)
}

/// The model a conversation without one of its own is answered by.
pub fn default_model(app: &App) -> String {
    app.providers.default_model()
}

/// The settings object: the conversation's own values, chatd's where it has none.
pub fn view(
    app: &App,
    conversation: ConversationRow,
    own: ConversationSettingsRow,
) -> ConversationSettings {
    let mut defaults = Vec::new();
    let model = own.model.unwrap_or_else(|| {
        defaults.push("model".to_string());
        default_model(app)
    });
    let system_prompt = match own.system_prompt {
        Some(prompt) => Some(prompt),
        None => {
            defaults.push("system_prompt".to_string());
            app.replies.default_system_prompt().map(str::to_string)
        }
    };
    let params = match own
        .params
        .as_deref()
        .map(serde_json::from_str::<ChatParams>)
    {
        Some(Ok(params)) => params,
        Some(Err(e)) => {
            // Only chatd writes the column; a value it cannot read was edited by hand.
            tracing::warn!(
                conversation_id = conversation.id,
                "the stored params cannot be read ({e}); showing the defaults"
            );
            defaults.push("params".to_string());
            ChatParams::default()
        }
        None => {
            defaults.push("params".to_string());
            ChatParams::default()
        }
    };
    ConversationSettings {
        id: conversation.id,
        name: conversation.name,
        model,
        system_prompt,
        params,
        title_source: own.title_source,
        defaults,
        active_leaf_id: conversation.active_leaf_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(value: Value) -> Result<ChatParams, Vec<Invalid>> {
        let mut errors = Vec::new();
        read_params(&value, &mut errors).ok_or(errors)
    }

    #[test]
    fn params_are_read_with_their_bounds() {
        let read =
            params(json!({"temperature": 0.7, "top_p": "1", "max_tokens": 50.0, "seed": -3}));
        assert_eq!(
            read.unwrap(),
            ChatParams {
                temperature: Some(0.7),
                top_p: Some(1.0),
                max_tokens: Some(50),
                seed: Some(-3),
            }
        );
        assert_eq!(
            params(json!({"temperature": null})).unwrap(),
            ChatParams::default()
        );
        let kinds = |value| -> Vec<(&'static str, Value)> {
            params(value)
                .unwrap_err()
                .into_iter()
                .map(|item| (item.kind, json!(item.loc)))
                .collect()
        };
        assert_eq!(
            kinds(json!({"temperature": -0.1, "top_p": 1.5, "max_tokens": 0, "color": 1})),
            [
                (
                    "greater_than_equal",
                    json!(["body", "params", "temperature"])
                ),
                ("less_than_equal", json!(["body", "params", "top_p"])),
                (
                    "greater_than_equal",
                    json!(["body", "params", "max_tokens"])
                ),
                ("extra_forbidden", json!(["body", "params", "color"])),
            ]
        );
        assert_eq!(
            kinds(json!({"temperature": true, "top_p": "x", "max_tokens": 1_000_001})),
            [
                ("float_type", json!(["body", "params", "temperature"])),
                ("float_parsing", json!(["body", "params", "top_p"])),
                ("less_than_equal", json!(["body", "params", "max_tokens"])),
            ]
        );
        assert_eq!(
            kinds(json!([1])),
            [("model_type", json!(["body", "params"]))]
        );
    }
}
