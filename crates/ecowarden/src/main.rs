use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    ecowarden::telemetry();
    match ecowarden::run(ecowarden::cli::Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
