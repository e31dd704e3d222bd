#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    autoscaling_apiserver::cli::main()
}
