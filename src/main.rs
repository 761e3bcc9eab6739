use clap::Parser;

fn main() -> std::process::ExitCode {
    unibox::ops::memory::bound_allocator();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("unibox: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        unibox::ops::telemetry::init();
        match unibox::cli::run(unibox::cli::Cli::parse()).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("unibox: {e:#}");
                std::process::ExitCode::FAILURE
            }
        }
    })
}
