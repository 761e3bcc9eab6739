use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    unibox::ops::telemetry::init();
    match unibox::cli::run(unibox::cli::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("unibox: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
