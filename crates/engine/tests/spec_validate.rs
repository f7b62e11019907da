//! `spec::resolve`: Docker's merge of the image's config with the create
//! options, and every option refused with the message Docker's daemon
//! gives (checked against dockerd 20.10 and docker CLI 28).

mod spec_support;

use spec_support::{opts, Fixture};
use wharf_engine::spec::resolve;
use wharf_engine::{CreateOptions, DeviceMapping, HealthConfig, Kind, MountSpec, Ulimit};

#[test]
fn image_and_options_merge_like_docker() {
    let f = Fixture::new();
    let img = f.image();
    let r = resolve(&opts(), &img).unwrap();
    assert_eq!((r.path.as_str(), r.args.len()), ("sh", 0));
    assert_eq!(r.working_dir, "", "unset, as in Docker's Config");
    assert_eq!(r.stop_signal, "SIGTERM");
    assert_eq!(r.volumes, ["/data"]);
    assert_eq!(r.env, ["FOO=img", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"]);

    let mut o = opts();
    o.cmd = Some(vec!["echo".into(), "hi".into()]);
    o.env = vec!["FOO=mine".into(), "NEW=1".into(), "BARE".into()];
    o.labels.insert("l".into(), "1".into());
    o.exposed_ports = vec!["80".into()];
    o.volumes = vec!["/extra".into()];
    o.user = Some("nobody".into());
    let r = resolve(&o, &img).unwrap();
    assert_eq!(
        (r.path.as_str(), r.args.as_slice()),
        ("echo", &["hi".to_string()][..])
    );
    // The user's entries first, then the image's that the user left.
    assert_eq!(
        r.env,
        ["FOO=mine", "NEW=1", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"]
    );
    assert_eq!(r.labels.get("from").map(String::as_str), Some("image"));
    assert_eq!(r.labels.get("l").map(String::as_str), Some("1"));
    assert_eq!(r.exposed_ports, ["80/tcp"]);
    assert_eq!(r.volumes, ["/data", "/extra"]);
    assert_eq!(r.user, "nobody");

    // An entrypoint of the user's takes the user's cmd alone.
    let mut o = opts();
    o.entrypoint = Some(vec!["/bin/echo".into()]);
    let r = resolve(&o, &img).unwrap();
    assert_eq!((r.path.as_str(), r.args.len()), ("/bin/echo", 0));
    let mut o = opts();
    o.entrypoint = Some(vec![String::new()]);
    o.cmd = Some(vec!["true".into()]);
    assert_eq!(resolve(&o, &img).unwrap().path, "true");
    let mut o = opts();
    o.entrypoint = Some(vec![]);
    assert_eq!(
        resolve(&o, &img).unwrap_err().message,
        "No command specified"
    );

    // Health timings without a test keep the image's test (none here).
    let mut o = opts();
    o.healthcheck = Some(HealthConfig {
        test: vec!["CMD".into(), "true".into()],
        interval: 2_000_000_000,
        ..HealthConfig::default()
    });
    assert_eq!(
        resolve(&o, &img).unwrap().healthcheck.unwrap().interval,
        2_000_000_000
    );
}

/// A change to the options and the message it must get.
type Case = (Box<dyn FnOnce(&mut CreateOptions)>, String);

fn refused(f: &Fixture, change: impl FnOnce(&mut CreateOptions)) -> (Kind, String) {
    let mut o = opts();
    change(&mut o);
    let e = resolve(&o, &f.image()).unwrap_err();
    (e.kind, e.message)
}

#[test]
fn bad_options_get_dockers_messages() {
    let f = Fixture::new();
    let ncpu = std::thread::available_parallelism().unwrap().get();
    let cases: Vec<Case> = vec![
        (
            Box::new(|o| o.host.resources.memory = 1 << 20),
            "Minimum memory limit allowed is 6MB".into(),
        ),
        (
            Box::new(|o| {
                o.host.resources.memory = 10 << 20;
                o.host.resources.memory_swap = 5 << 20;
            }),
            "Minimum memoryswap limit should be larger than memory limit, see usage".into(),
        ),
        (
            Box::new(|o| o.host.resources.memory_swap = 20 << 20),
            "You should always set the Memory limit when using Memoryswap limit, see usage".into(),
        ),
        (
            Box::new(|o| {
                o.host.resources.memory = 10 << 20;
                o.host.resources.memory_reservation = 20 << 20;
            }),
            "Minimum memory limit can not be less than memory reservation limit, see usage".into(),
        ),
        (
            Box::new(|o| o.host.restart.name = "bogus".into()),
            "invalid restart policy 'bogus'".into(),
        ),
        (
            Box::new(|o| {
                o.host.restart.name = "always".into();
                o.host.restart.maximum_retry_count = 3;
            }),
            "maximum retry count cannot be used with restart policy 'always'".into(),
        ),
        (
            Box::new(|o| {
                o.host.restart.name = "always".into();
                o.host.auto_remove = true;
            }),
            "can't create 'AutoRemove' container with restart policy".into(),
        ),
        (
            Box::new(|o| o.host.cap_add = vec!["FOO".into()]),
            "invalid CapAdd: unknown capability: \"CAP_FOO\"".into(),
        ),
        (
            Box::new(|o| o.host.cap_drop = vec!["bar".into()]),
            "invalid CapDrop: unknown capability: \"CAP_BAR\"".into(),
        ),
        (
            Box::new(|o| {
                o.host.devices = vec![DeviceMapping {
                    path_on_host: "/dev/nonexist".into(),
                    path_in_container: "/dev/x".into(),
                    cgroup_permissions: "rwm".into(),
                }]
            }),
            "error gathering device information while adding custom device \"/dev/nonexist\": \
             no such file or directory"
                .into(),
        ),
        (
            Box::new(|o| {
                o.host.ulimits = vec![Ulimit {
                    name: "nofile".into(),
                    soft: 10,
                    hard: 5,
                }]
            }),
            "ulimit soft limit must be less than or equal to hard limit: 10 > 5".into(),
        ),
        (
            Box::new(|o| {
                o.host.ulimits = vec![Ulimit {
                    name: "bogus".into(),
                    soft: 1,
                    hard: 1,
                }]
            }),
            "invalid ulimit type: bogus".into(),
        ),
        (
            Box::new(|o| o.host.security_opt = vec!["bogus".into()]),
            "invalid --security-opt 1: \"bogus\"".into(),
        ),
        (
            Box::new(|o| o.host.security_opt = vec!["no-new-privileges=maybe".into()]),
            "invalid --security-opt 2: \"no-new-privileges=maybe\"".into(),
        ),
        (
            Box::new(|o| {
                o.host.sysctls.insert("kernel.foo".into(), "1".into());
            }),
            "sysctl \"kernel.foo\" is not in a separate kernel namespace".into(),
        ),
        (
            Box::new(|o| {
                o.host.network_mode = "host".into();
                o.host
                    .sysctls
                    .insert("net.ipv4.ip_forward".into(), "1".into());
            }),
            "sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace".into(),
        ),
        (
            Box::new(|o| o.host.resources.nano_cpus = 1000 * 1_000_000_000),
            format!(
                "Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available"
            ),
        ),
        (
            Box::new(|o| {
                o.host.resources.nano_cpus = 1_000_000_000;
                o.host.resources.cpu_quota = 50000;
            }),
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set".into(),
        ),
        (
            Box::new(|o| o.host.resources.cpu_period = 500),
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"
                .into(),
        ),
        (
            Box::new(|o| o.host.resources.cpuset_cpus = "abc".into()),
            "Invalid value abc for cpuset cpus: invalid format: abc".into(),
        ),
        (
            Box::new(|o| o.host.oom_score_adj = 2000),
            "Invalid value 2000, range for oom score adj is [-1000, 1000]".into(),
        ),
        (
            Box::new(|o| o.host.shm_size = Some(-1)),
            "SHM size can not be less than 0".into(),
        ),
        (
            Box::new(|o| o.host.ipc_mode = "bogus".into()),
            "Invalid IPC mode: bogus".into(),
        ),
        (
            Box::new(|o| {
                o.host.uts_mode = "host".into();
                o.hostname = Some("x".into());
            }),
            "conflicting options: hostname and the UTS mode".into(),
        ),
        (
            Box::new(|o| {
                o.host.network_mode = "container:x".into();
                o.hostname = Some("x".into());
            }),
            "conflicting options: hostname and the network mode".into(),
        ),
        (
            Box::new(|o| o.working_dir = Some("relative".into())),
            "the working directory 'relative' is invalid, it needs to be an absolute path".into(),
        ),
        (
            Box::new(|o| o.stop_signal = Some("BOGUS".into())),
            "Invalid signal: BOGUS".into(),
        ),
        (
            Box::new(|o| {
                o.host.log_config.driver = "json-file".into();
                o.host.log_config.options.insert("bogus".into(), "1".into());
            }),
            "unknown log opt 'bogus' for json-file log driver".into(),
        ),
        (
            Box::new(|o| {
                o.healthcheck = Some(HealthConfig {
                    test: vec!["CMD".into(), "true".into()],
                    interval: 100_000,
                    ..HealthConfig::default()
                })
            }),
            "Interval in Healthcheck cannot be less than 1ms".into(),
        ),
        (
            Box::new(|o| o.host.binds = vec!["/tmp:/x:bogus".into()]),
            "invalid mode: bogus".into(),
        ),
        (
            Box::new(|o| o.host.binds = vec!["bad@name:/x".into()]),
            "create bad@name: \"bad@name\" includes invalid characters for a local volume name, \
             only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host \
             directory, use absolute path"
                .into(),
        ),
        (
            Box::new(|o| {
                o.host.mounts = vec![MountSpec {
                    kind: "bind".into(),
                    source: "/nonexist".into(),
                    target: "/x".into(),
                    ..MountSpec::default()
                }]
            }),
            "invalid mount config for type \"bind\": bind source path does not exist: /nonexist"
                .into(),
        ),
    ];
    for (change, want) in cases {
        let (kind, msg) = refused(&f, change);
        assert_eq!(msg, want);
        assert_eq!(kind, Kind::InvalidArgument, "{msg}");
    }
    // An unknown network is the engine's to refuse (networks_engine.rs).
}
