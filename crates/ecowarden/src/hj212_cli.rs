//! `ecowarden hj212 parse` (placeholder until the codec lands).

#[derive(Debug, clap::Args)]
pub struct ParseArgs {}

pub fn run_parse(_args: &ParseArgs) -> anyhow::Result<()> {
    anyhow::bail!("not yet available")
}
