//! `ls-admin audit export --jsonl`.

use crate::Failure;

/// `ls-admin audit export --jsonl`: chunks of entries in id order, written
/// as they are read (bounded memory), progress every 10,000.
pub(crate) async fn export(services: &infra::AppServices, mut after: i64) -> Result<(), Failure> {
    use std::io::Write as _;
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    let mut written: u64 = 0;
    loop {
        let chunk = services.audit_export_chunk(after, 1000).await?;
        let Some(last) = chunk.last() else { break };
        after = last.id;
        for r in &chunk {
            writeln!(out, "{}", r.to_json())
                .map_err(|e| Failure::Other(format!("writing the export: {e}")))?;
        }
        written += chunk.len() as u64;
        if written % 10_000 < 1000 && chunk.len() == 1000 {
            eprintln!("ls-admin: {written} entries exported");
        }
    }
    out.flush()
        .map_err(|e| Failure::Other(format!("writing the export: {e}")))?;
    eprintln!("ls-admin: {written} entries exported in all");
    Ok(())
}
