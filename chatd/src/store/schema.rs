//! The diesel schema, written to match `migrations/sqlite` by hand: column types are the
//! portable ones (BigInt ids, Text, Timestamp in UTC) so another backend can share it.

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        email -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    conversations (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Nullable<Text>,
        created_at -> Timestamp,
        model -> Nullable<Text>,
        system_prompt -> Nullable<Text>,
        params -> Nullable<Text>,
        title_source -> Nullable<Text>,
        chat_key -> Nullable<Text>,
        active_leaf_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    messages (id) {
        id -> BigInt,
        conversation_id -> BigInt,
        role -> Text,
        content -> Text,
        status -> Text,
        created_at -> Timestamp,
        model -> Nullable<Text>,
        finish_reason -> Nullable<Text>,
        prompt_tokens -> Nullable<BigInt>,
        completion_tokens -> Nullable<BigInt>,
        ttft_ms -> Nullable<BigInt>,
        duration_ms -> Nullable<BigInt>,
        reasoning -> Nullable<Text>,
        path_hash -> Nullable<Text>,
        parent_id -> Nullable<BigInt>,
    }
}

diesel::joinable!(conversations -> users (user_id));
diesel::joinable!(messages -> conversations (conversation_id));
diesel::joinable!(reply_checkpoints -> conversations (conversation_id));

diesel::table! {
    reply_checkpoints (conversation_id) {
        conversation_id -> BigInt,
        user_message_id -> BigInt,
        owner -> Text,
        content -> Text,
        updated_at -> Timestamp,
        reply_index -> Integer,
        reasoning -> Text,
    }
}

diesel::table! {
    idempotency_keys (scope, idempotency_key) {
        scope -> Text,
        idempotency_key -> Text,
        fingerprint -> Text,
        status -> Integer,
        body -> Nullable<Text>,
        user_message_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(users, conversations, messages, reply_checkpoints);
