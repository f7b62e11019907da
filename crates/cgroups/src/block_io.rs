//! `blockIO`: v1 `blkio.*` files, v2 `io.weight`/`io.bfq.weight`/`io.max`.
//!
//! On v2 the weight goes to `io.bfq.weight` unchanged (10..=1000, BFQ's own
//! scale) when the BFQ scheduler offers it, otherwise to `io.weight` converted
//! to 1..=10000 as runc and crun do. Throttles become `io.max` lines
//! (`MAJ:MIN rbps=N`); a rate of 0 removes the limit (`max`), as a 0 does on v1.

use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};

use crate::cgroup::{Cgroup, Ctl, Place};
use crate::convert::blkio_to_io_weight;
use crate::error::Result;
use crate::files::{invalid, write_res};

fn check_weight(w: u16, res: &str) -> Result<()> {
    if (10..=1000).contains(&w) {
        Ok(())
    } else {
        Err(invalid(res, format!("{w} is outside 10..=1000")))
    }
}

fn throttles(
    io: &LinuxBlockIo,
) -> [(
    &[LinuxThrottleDevice],
    &'static str,
    &'static str,
    &'static str,
); 4] {
    [
        (
            io.throttle_read_bps_device().as_deref().unwrap_or(&[]),
            "read_bps_device",
            "rbps",
            "throttleReadBpsDevice",
        ),
        (
            io.throttle_write_bps_device().as_deref().unwrap_or(&[]),
            "write_bps_device",
            "wbps",
            "throttleWriteBpsDevice",
        ),
        (
            io.throttle_read_iops_device().as_deref().unwrap_or(&[]),
            "read_iops_device",
            "riops",
            "throttleReadIOPSDevice",
        ),
        (
            io.throttle_write_iops_device().as_deref().unwrap_or(&[]),
            "write_iops_device",
            "wiops",
            "throttleWriteIOPSDevice",
        ),
    ]
}

impl Cgroup {
    pub(crate) fn apply_block_io(&self, io: &LinuxBlockIo) -> Result<()> {
        let devices = io.weight_device().as_deref().unwrap_or(&[]);
        let throttles = throttles(io);
        let empty = io.weight().is_none()
            && io.leaf_weight().is_none()
            && devices.is_empty()
            && throttles.iter().all(|t| t.0.is_empty());
        if empty {
            return Ok(());
        }
        match self.need(Ctl::Io, "blockIO")? {
            Place::V1(d) => {
                let weight_file = if d.join("blkio.weight").exists() {
                    "blkio"
                } else {
                    "blkio.bfq"
                };
                if let Some(w) = io.weight() {
                    check_weight(w, "blockIO.weight")?;
                    write_res(
                        d,
                        &format!("{weight_file}.weight"),
                        &w.to_string(),
                        "blockIO.weight",
                    )?;
                }
                if let Some(w) = io.leaf_weight() {
                    check_weight(w, "blockIO.leafWeight")?;
                    write_res(d, "blkio.leaf_weight", &w.to_string(), "blockIO.leafWeight")?;
                }
                for dev in devices {
                    let id = format!("{}:{}", dev.major(), dev.minor());
                    if let Some(w) = dev.weight() {
                        check_weight(w, "blockIO.weightDevice")?;
                        let file = format!("{weight_file}.weight_device");
                        write_res(d, &file, &format!("{id} {w}"), "blockIO.weightDevice")?;
                    }
                    if let Some(w) = dev.leaf_weight() {
                        check_weight(w, "blockIO.weightDevice.leafWeight")?;
                        let res = "blockIO.weightDevice.leafWeight";
                        write_res(d, "blkio.leaf_weight_device", &format!("{id} {w}"), res)?;
                    }
                }
                for (list, file, _, res) in throttles {
                    for t in list {
                        let line = format!("{}:{} {}", t.major(), t.minor(), t.rate());
                        write_res(
                            d,
                            &format!("blkio.throttle.{file}"),
                            &line,
                            &format!("blockIO.{res}"),
                        )?;
                    }
                }
            }
            Place::V2(d) => {
                let bfq = d.join("io.bfq.weight").exists();
                if let Some(w) = io.weight() {
                    check_weight(w, "blockIO.weight")?;
                    if bfq {
                        write_res(d, "io.bfq.weight", &w.to_string(), "blockIO.weight")?;
                    } else {
                        let v = format!("default {}", blkio_to_io_weight(w));
                        write_res(d, "io.weight", &v, "blockIO.weight")?;
                    }
                }
                for dev in devices {
                    let Some(w) = dev.weight() else { continue };
                    check_weight(w, "blockIO.weightDevice")?;
                    let id = format!("{}:{}", dev.major(), dev.minor());
                    if bfq {
                        write_res(
                            d,
                            "io.bfq.weight",
                            &format!("{id} {w}"),
                            "blockIO.weightDevice",
                        )?;
                    } else {
                        let v = format!("{id} {}", blkio_to_io_weight(w));
                        write_res(d, "io.weight", &v, "blockIO.weightDevice")?;
                    }
                }
                for (list, _, key, res) in throttles {
                    for t in list {
                        let rate = if t.rate() == 0 {
                            "max".to_string()
                        } else {
                            t.rate().to_string()
                        };
                        let line = format!("{}:{} {key}={rate}", t.major(), t.minor());
                        write_res(d, "io.max", &line, &format!("blockIO.{res}"))?;
                    }
                }
            }
        }
        Ok(())
    }
}
