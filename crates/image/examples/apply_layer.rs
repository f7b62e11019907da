//! `apply_layer <layer.tar[.gz|.zst]> <dest-dir>`: applies one layer tar to a
//! directory with [`wharf_image::layer::apply`] (image-layer options: overlay
//! whiteouts) and prints the entries and bytes written.
//!
//! It exists so that `bench/build` can measure unpack throughput against
//! `tar -x`; like `tar -x` it does not sync the tree to disk.
#![forbid(unsafe_code)]

use std::fs::File;
use std::process::ExitCode;

use wharf_image::layer::{apply, ApplyOptions};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [layer, dest] = args.as_slice() else {
        eprintln!("usage: apply_layer <layer.tar[.gz|.zst]> <dest-dir>");
        return ExitCode::from(2);
    };
    let file = match File::open(layer) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("apply_layer: failed to open {layer}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::create_dir_all(dest) {
        eprintln!("apply_layer: failed to create {dest}: {e}");
        return ExitCode::FAILURE;
    }
    match apply(file, dest.as_ref(), &ApplyOptions::LAYER) {
        Ok(stats) => {
            println!("{} entries, {} bytes", stats.files, stats.bytes);
            ExitCode::SUCCESS
        }
        Err(e) => {
            let mut msg = format!("apply_layer: {e}");
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                msg.push_str(&format!(": {c}"));
                cause = c.source();
            }
            eprintln!("{msg}");
            ExitCode::FAILURE
        }
    }
}
