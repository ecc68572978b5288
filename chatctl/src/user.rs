//! `chatctl user create|show`: the users of the API (`POST /users/`, `GET /users/{name}`).

use anyhow::Context as _;
use common::{CreateUserRequest, User};

use crate::context::Ctx;
use crate::error::ApiError;
use crate::exit_codes::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a user (and make it the default user).
    #[command(after_help = CREATE_EXAMPLES)]
    Create(CreateArgs),
    /// Show a user (default: the current user).
    #[command(after_help = SHOW_EXAMPLES)]
    Show(ShowArgs),
}

const CREATE_EXAMPLES: &str = "\
Examples:
  chatctl user create alice
  chatctl user create 张三 --email zhang@example.com
  chatctl --json user create bob | jq .id";

const SHOW_EXAMPLES: &str = "\
Examples:
  chatctl user show
  chatctl user show alice
  chatctl --json user show alice | jq .created_at";

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The username: 1-64 characters, any script, no `/`.
    pub name: String,
    /// An email address to store with the user.
    #[arg(long, value_name = "E")]
    pub email: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The username (default: --user or the remembered user).
    pub name: Option<String>,
}

impl Command {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        match self {
            Command::Create(args) => args.run(ctx).await,
            Command::Show(args) => args.run(ctx).await,
        }
    }
}

impl CreateArgs {
    async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        let request = CreateUserRequest {
            username: self.name.clone(),
            email: self.email,
        };
        let user = ctx.client.create_user(&request).await.map_err(|err| {
            // The contract answers a taken username with a 400; it is a conflict.
            let code = match &err {
                ApiError::Status { status: 400, .. } => Some(ExitCode::Conflict),
                _ => None,
            };
            let err =
                anyhow::Error::new(err).context(format!("could not create user {:?}", self.name));
            match code {
                Some(code) => anyhow::Error::new(crate::error::Coded {
                    code,
                    message: format!("{err:#}"),
                }),
                None => err,
            }
        })?;
        ctx.remember_user(&user.username);
        if ctx.out.json {
            ctx.out.json(&user)?;
        } else {
            ctx.out.line(&format!(
                "created user {} (id {})",
                ctx.out.bold(&user.username),
                user.id
            ))?;
        }
        Ok(())
    }
}

impl ShowArgs {
    async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        let user = match self.name {
            Some(name) => ctx
                .client
                .user(&name)
                .await
                .with_context(|| format!("could not show user {name:?}"))?,
            None => ctx.user().await?,
        };
        if ctx.out.json {
            ctx.out.json(&user)?;
        } else {
            print_user(ctx, &user)?;
        }
        Ok(())
    }
}

fn print_user(ctx: &Ctx, user: &User) -> std::io::Result<()> {
    let out = &ctx.out;
    out.line(&format!("{}  {}", out.dim("username  "), user.username))?;
    out.line(&format!("{}  {}", out.dim("id        "), user.id))?;
    out.line(&format!(
        "{}  {}",
        out.dim("email     "),
        user.email.as_deref().unwrap_or("-")
    ))?;
    out.line(&format!("{}  {}", out.dim("created   "), user.created_at))
}
