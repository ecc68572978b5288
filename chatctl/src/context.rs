//! What every command works with: the API client, the output settings and the
//! remembered defaults, plus resolving "which user" and "which conversation".

use anyhow::Context as _;
use common::{ConversationWithMessages, User};

use crate::client::Client;
use crate::config::Store;
use crate::error::{ApiError, Coded};
use crate::exit_codes::ExitCode;
use crate::output::Out;

pub struct Ctx {
    pub client: Client,
    pub out: Out,
    pub store: Store,
    /// `--user` / `CHATCTL_USER`.
    user_arg: Option<String>,
}

impl Ctx {
    pub fn new(client: Client, out: Out, store: Store, user_arg: Option<String>) -> Ctx {
        Ctx {
            client,
            out,
            store,
            user_arg,
        }
    }

    /// The name of the user to act as: `--user`, else the remembered default.
    pub fn user_name(&self) -> Result<String, Coded> {
        self.user_arg
            .clone()
            .or_else(|| self.store.remembered.user.clone())
            .ok_or_else(|| {
                Coded::usage(
                    "no user given; pass --user NAME (or set CHATCTL_USER), or create one \
                     with `chatctl user create NAME`",
                )
            })
    }

    /// The user given with `--user` (or `CHATCTL_USER`) on this command line, not the
    /// remembered default.
    pub fn user_given(&self) -> Option<&str> {
        self.user_arg.as_deref()
    }

    /// Looks the user up on the server and remembers them as the default.
    pub async fn user(&mut self) -> anyhow::Result<User> {
        let name = self.user_name()?;
        let user = self.client.user(&name).await.map_err(|err| match err {
            // Keep the server's words, add the way out.
            ApiError::Status {
                status: 404,
                detail,
            } => anyhow::Error::new(ApiError::Status {
                status: 404,
                detail: format!("{detail}: {name:?}; create it with `chatctl user create {name}`"),
            }),
            other => anyhow::Error::new(other).context(format!("could not look up user {name:?}")),
        })?;
        self.remember_user(&user.username);
        Ok(user)
    }

    /// The user to act as when one is given or remembered; `None` when none is.
    pub async fn known_user(&mut self) -> anyhow::Result<Option<User>> {
        match self.user_name() {
            Ok(_) => Ok(Some(self.user().await?)),
            Err(_) => Ok(None),
        }
    }

    /// The one rule for a conversation named by id (`chat ID`, `send -c ID`,
    /// `/switch ID`, `cancel ID`): it must exist ("not found" otherwise) and, when
    /// chatctl knows whom it acts as, belong to them. The API itself does not check
    /// owners, so without this one user could write into another's conversation.
    pub async fn own_conversation(
        &self,
        id: i64,
        user: Option<&User>,
    ) -> anyhow::Result<ConversationWithMessages> {
        let conversation = self
            .client
            .conversation(id)
            .await
            .with_context(|| format!("could not open conversation {id}"))?;
        if let Some(user) = user
            && conversation.user_id != user.id
        {
            return Err(not_theirs(id, user));
        }
        Ok(conversation)
    }

    /// The owner half of the rule, for commands whose own request answers "not found"
    /// (`conv rename`, `set`, `rm`): refuses another user's conversation, lets the rest
    /// through.
    pub async fn refuse_if_not_theirs(&self, id: i64, user: Option<&User>) -> anyhow::Result<()> {
        let Some(user) = user else {
            return Ok(());
        };
        match self.client.conversation(id).await {
            Ok(conversation) if conversation.user_id != user.id => Err(not_theirs(id, user)),
            Ok(_) => Ok(()),
            Err(err) if err.is_not_found() => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    pub fn remember_user(&mut self, name: &str) {
        if self.store.remembered.user.as_deref() != Some(name) {
            self.store.remembered.user = Some(name.to_string());
            self.store.save();
        }
    }

    pub fn last_conversation(&self, user: &str) -> Option<i64> {
        self.store
            .remembered
            .last_conversation(self.client.server(), user)
    }

    pub fn remember_conversation(&mut self, user: &str, id: i64) {
        let server = self.client.server().to_string();
        if self
            .store
            .remembered
            .set_last_conversation(&server, user, id)
        {
            self.store.save();
        }
    }

    /// Creates a conversation for `user` and remembers it as the last one.
    pub async fn new_conversation(
        &mut self,
        user: &User,
        name: Option<String>,
    ) -> anyhow::Result<common::Conversation> {
        let conversation = self
            .client
            .create_conversation(&common::CreateConversationRequest {
                user_id: user.id,
                name,
            })
            .await
            .context("could not create a conversation")?;
        self.remember_conversation(&user.username, conversation.id);
        Ok(conversation)
    }
}

/// The refusal of another user's conversation, the same wherever it is named.
fn not_theirs(id: i64, user: &User) -> anyhow::Error {
    Coded {
        code: ExitCode::NotFound,
        message: format!(
            "conversation {id} belongs to another user; chatctl works only on the \
             conversations of the user it acts as ({}, see --user)",
            user.username
        ),
    }
    .into()
}
