//! `ecowarden user create | reset-password | disable | enable | link-officer`.

use std::io::Read;

use anyhow::{Context, bail};

use ecowarden_core::auth;
use ecowarden_core::org::Org;
use ecowarden_core::store::Db;

use crate::cli::UserCommand;

fn read_password(arg: Option<String>, stdin: bool) -> anyhow::Result<String> {
    if stdin {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        return Ok(s.trim_end_matches(['\r', '\n']).to_owned());
    }
    match arg {
        Some(p) => Ok(p),
        None => bail!("give the password with --password, ECOWARDEN_PASSWORD or --password-stdin"),
    }
}

pub async fn user_command(db: &Db, org: &Org, cmd: UserCommand) -> anyhow::Result<()> {
    const ACTOR: &str = "cli";
    let find = |username: String| async move {
        auth::find_by_username(db, &username)
            .await?
            .with_context(|| format!("no user {username}"))
    };
    match cmd {
        UserCommand::Create {
            username,
            name,
            role,
            region,
            password,
            password_stdin,
        } => {
            let password = read_password(password, password_stdin)?;
            let u = auth::NewUser {
                username,
                display_name: name,
                password,
                role,
                region_code: region,
            };
            let id = auth::create_user(db, org, ACTOR, &u).await?;
            println!("created user {} (id {id})", u.username);
        }
        UserCommand::ResetPassword {
            username,
            password,
            password_stdin,
        } => {
            let u = find(username).await?;
            auth::reset_password(db, ACTOR, u.id, &read_password(password, password_stdin)?)
                .await?;
            println!("password reset for {}", u.username);
        }
        UserCommand::Disable { username } => {
            let u = find(username).await?;
            auth::set_disabled(db, ACTOR, u.id, true).await?;
            println!("disabled {}", u.username);
        }
        UserCommand::Enable { username } => {
            let u = find(username).await?;
            auth::set_disabled(db, ACTOR, u.id, false).await?;
            println!("enabled {}", u.username);
        }
        UserCommand::LinkOfficer { username, officer } => {
            let u = find(username).await?;
            auth::link_officer(db, org, ACTOR, u.id, &officer).await?;
            println!("{} is officer {officer}", u.username);
        }
    }
    Ok(())
}
