# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""GPU detection on the outputs of real kinds of machines, and on broken output.

Fixtures: fixtures/gpu/ (README there).  sysfs trees are built in tmp_path from them; nvidia-smi and lspci,
which this machine does not have, are stand-in executables printing the fixture outputs (unit/gpu_hosts.py).
"""

import subprocess

import pytest
from unit.gpu_hosts import HOSTS_WITH_DRIVER, build_sysfs, fixture, host_sysfs, nvidia_smi_for, stand_in

from ansible_collections.cloudforge.platform.plugins.module_utils.catalog import gpu as gpu_catalog
from ansible_collections.cloudforge.platform.plugins.module_utils.hosts import gpu_facts

H100_ADDRESSES = [
    "0000:18:00.0",
    "0000:2a:00.0",
    "0000:3a:00.0",
    "0000:5d:00.0",
    "0000:9a:00.0",
    "0000:ab:00.0",
    "0000:ba:00.0",
    "0000:db:00.0",
]


def run(argv):
    """What the module's run_command does: run the program, return (rc, stdout, stderr)."""
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout, done.stderr


def gather_host(tmp_path, host, nvidia_smi=True):
    sysfs = host_sysfs(tmp_path / "sys", host)
    smi = nvidia_smi_for(tmp_path / "nvidia-smi", host) if nvidia_smi else None
    return gpu_facts.gather(run, sysfs_root=str(sysfs), nvidia_smi_path=smi)


# --------------------------------------------------------------------------- real kinds of machines


def test_h100_host_has_eight_gpus_and_no_switches_or_bmc_graphics(tmp_path):
    facts = gather_host(tmp_path, "h100-8x")
    assert facts["warnings"] == []
    assert facts["present"] is True
    assert facts["count"] == 8  # not the 4 NVSwitches (class 0680) nor the ASPEED VGA
    assert [gpu["pci_address"] for gpu in facts["gpus"]] == H100_ADDRESSES
    assert [gpu["index"] for gpu in facts["gpus"]] == list(range(8))
    gpu = facts["gpus"][1]  # nvidia-smi prints 00000000:2A:00.0
    assert gpu["pci_address"] == "0000:2a:00.0"
    assert gpu["uuid"] == "GPU-0b3510b0-b46e-41da-b170-17a6205738d1"
    assert gpu["device_id"] == "2330"
    assert gpu["product_name"] == "NVIDIA H100 80GB HBM3"
    assert gpu["memory_mib"] == 81559
    assert gpu["compute_capability"] == "9.0"
    assert gpu["kernel_driver"] == "nvidia"
    assert [g["numa_node"] for g in facts["gpus"]] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert gpu["mig_capable"] is True and gpu["mig_enabled"] is False and gpu["mig_devices"] == []
    assert gpu["sources"] == ["sysfs", "nvidia-smi"]
    assert facts["driver_version"] == "535.129.03"
    assert facts["nvidia_smi"] == "ok"
    assert facts["sources"] == ["sysfs", "nvidia-smi"]
    assert facts["node_labels"] == {
        "cloudforge.io/gpu": "true",
        "nvidia.com/gpu.present": "true",
        "nvidia.com/gpu.count": "8",
        "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3",
        "nvidia.com/mig.capable": "true",
    }
    assert facts["node_taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    assert facts["k3s_node_taints"] == ["nvidia.com/gpu=present:NoSchedule"]
    assert "nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3" in facts["k3s_node_labels"]


def test_a100_with_mig_lists_the_mig_devices_of_each_gpu(tmp_path):
    facts = gather_host(tmp_path, "a100-80gb-mig")
    assert facts["warnings"] == []
    assert facts["count"] == 2  # MIG devices are not GPUs
    first, second = facts["gpus"]
    assert first["mig_enabled"] is True
    assert [(dev["index"], dev["profile"]) for dev in first["mig_devices"]] == [
        (0, "3g.40gb"),
        (1, "2g.20gb"),
        (2, "1g.10gb"),
        (3, "1g.10gb"),
    ]
    assert first["mig_devices"][0]["uuid"] == "MIG-a9b7e3ea-1d1d-584f-b9db-434b610b1631"
    assert second["mig_capable"] is True and second["mig_enabled"] is False and second["mig_devices"] == []
    assert first["memory_mib"] == 81920 and first["numa_node"] == 3
    assert facts["mig_enabled"] is True and facts["mig_device_count"] == 4
    assert facts["node_labels"]["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-80GB"
    assert facts["node_labels"]["nvidia.com/mig.capable"] == "true"
    assert facts["node_labels"]["nvidia.com/gpu.count"] == "2"


def test_l4_is_not_mig_capable_and_has_no_numa_node(tmp_path):
    facts = gather_host(tmp_path, "l4-1x")
    assert facts["warnings"] == []
    (gpu,) = facts["gpus"]
    assert gpu["pci_address"] == "0000:00:03.0"
    assert gpu["product_label"] == "NVIDIA-L4"
    assert gpu["memory_mib"] == 23034
    assert gpu["compute_capability"] == "8.9"
    assert gpu["mig_capable"] is False  # mig.mode.current is [N/A]
    assert gpu["numa_node"] is None  # sysfs says -1 in a VM
    assert facts["node_labels"]["nvidia.com/mig.capable"] == "false"
    assert facts["node_labels"]["nvidia.com/gpu.count"] == "1"


def test_host_without_nvidia_gpu_gets_no_gpu_labels_and_no_taint(tmp_path):
    facts = gather_host(tmp_path, "no-gpu", nvidia_smi=False)
    assert facts["warnings"] == []
    assert facts["present"] is False
    assert facts["count"] == 0
    assert facts["gpus"] == []
    assert facts["nvidia_smi"] == "not found"
    assert facts["node_labels"] == {"cloudforge.io/gpu": "false"}  # the Matrox VGA is not a GPU
    assert facts["node_taints"] == []
    assert facts["k3s_node_taints"] == []


def test_driver_not_installed_detects_the_gpus_from_sysfs_alone(tmp_path):
    facts = gather_host(tmp_path, "driver-missing", nvidia_smi=False)
    assert facts["warnings"] == []  # no driver yet is a normal state, not a problem
    assert facts["nvidia_smi"] == "not found"
    assert facts["sources"] == ["sysfs"]
    assert facts["count"] == 4
    assert [gpu["index"] for gpu in facts["gpus"]] == [0, 1, 2, 3]  # PCI bus order, as nvidia-smi will number them
    assert [gpu["pci_address"] for gpu in facts["gpus"]] == [
        "0000:4a:00.0",
        "0000:61:00.0",
        "0000:ca:00.0",
        "0000:e1:00.0",
    ]
    gpu = facts["gpus"][0]
    assert gpu["product_name"] == "NVIDIA L40S"  # from the device id 26b9
    assert gpu["kernel_driver"] is None
    assert gpu["memory_mib"] is None and gpu["uuid"] is None and gpu["driver_version"] is None
    assert facts["driver_version"] is None and facts["kernel_module_version"] is None
    assert facts["node_labels"] == {
        "cloudforge.io/gpu": "true",
        "nvidia.com/gpu.present": "true",
        "nvidia.com/gpu.count": "4",
        "nvidia.com/gpu.product": "NVIDIA-L40S",
        "nvidia.com/mig.capable": "false",
    }


@pytest.mark.parametrize("host", HOSTS_WITH_DRIVER)
def test_labels_before_the_driver_equal_the_labels_with_it(tmp_path, host):
    """The device-id table must name products exactly as the driver does, or nodes get relabelled later."""
    with_driver = gather_host(tmp_path / "with", host)
    without = gather_host(tmp_path / "without", host, nvidia_smi=False)
    assert without["nvidia_smi"] == "not found"
    assert without["node_labels"] == with_driver["node_labels"]


def test_every_product_a_tenant_can_ask_for_is_labelled_without_the_driver():
    """gpu_catalog.GPU_PRODUCTS labels are what tenants' node selectors match; the hosts layer must set them."""
    labels = {gpu_facts.product_label(known[0]) for known in gpu_facts.KNOWN_DEVICES.values()}
    wanted = {product["label"] for product in gpu_catalog.GPU_PRODUCTS.values()}
    assert wanted <= labels, wanted - labels


def test_kernel_module_version_stands_in_for_the_driver_version_when_nvidia_smi_fails(tmp_path):
    sysfs = host_sysfs(tmp_path / "sys", "h100-8x")
    smi = stand_in(tmp_path / "nvidia-smi", [("", fixture("malformed", "nvidia-smi-driver-failed.txt"), 9)])
    facts = gpu_facts.gather(run, sysfs_root=str(sysfs), nvidia_smi_path=smi)
    assert facts["kernel_module_version"] == "535.129.03"
    assert facts["driver_version"] == "535.129.03"


# --------------------------------------------------------------------------- product names


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("NVIDIA H100 80GB HBM3", "NVIDIA-H100-80GB-HBM3"),
        ("NVIDIA A100-SXM4-80GB", "NVIDIA-A100-SXM4-80GB"),
        ("NVIDIA A100 80GB PCIe", "NVIDIA-A100-80GB-PCIe"),
        ("Tesla T4", "Tesla-T4"),
        ("NVIDIA GeForce RTX 4090", "NVIDIA-GeForce-RTX-4090"),
        ("  NVIDIA   RTX A6000 (TM) ", "NVIDIA-RTX-A6000-TM"),
        ("NVIDIA H100 80GB HBM3 / MIG", "NVIDIA-H100-80GB-HBM3-MIG"),
        ("", None),
        (None, None),
        ("()", None),
    ],
)
def test_product_label_is_normalised_like_gpu_feature_discovery(name, label):
    assert gpu_facts.product_label(name) == label


# --------------------------------------------------------------------------- lspci


@pytest.mark.parametrize("host", ["h100-8x", "a100-80gb-mig", "l4-1x", "no-gpu", "driver-missing"])
def test_lspci_nn_finds_the_same_gpus_as_sysfs(tmp_path, host):
    from_sysfs = gpu_facts.read_sysfs(str(host_sysfs(tmp_path, host)))[0]
    from_lspci, warnings = gpu_facts.parse_lspci_nn(fixture(host, "lspci-nn.txt"))
    assert warnings == []
    key = [(d["pci_address"], d["device_id"], d["class_code"]) for d in from_sysfs]
    assert [(d["pci_address"], d["device_id"], d["class_code"]) for d in from_lspci] == key


def test_lspci_without_domain_is_normalised(tmp_path):
    text = "\n".join(line[len("0000:") :] for line in fixture("l4-1x", "lspci-nn.txt").splitlines())
    devices, warnings = gpu_facts.parse_lspci_nn(text)
    assert warnings == []
    assert [(d["pci_address"], d["pci_name"]) for d in devices] == [("0000:00:03.0", "NVIDIA Corporation AD104GL [L4]")]


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("a100-80gb-mig", [("0000:07:00.0", "20b2", 3), ("0000:0f:00.0", "20b2", 3)]),
        ("l4-1x", [("0000:00:03.0", "27b8", None)]),
        ("no-gpu", []),
    ],
)
def test_lspci_vmm_records(host, expected):
    devices, warnings = gpu_facts.parse_lspci_vmm(fixture(host, "lspci-vmm.txt"))
    assert warnings == []
    assert [(d["pci_address"], d["device_id"], d["numa_node"]) for d in devices] == expected


def test_lspci_vmm_without_numeric_ids_is_reported():
    text = "Slot:\t07:00.0\nClass:\t3D controller\nVendor:\tNVIDIA Corporation\nDevice:\tGA100 [A100 SXM4 80GB]\n"
    devices, warnings = gpu_facts.parse_lspci_vmm(text)
    assert devices == []
    assert warnings == ["lspci -vmm: record '07:00.0' lacks a slot or numeric ids (run lspci with -nn)"]


def test_lspci_is_the_fallback_when_sysfs_cannot_be_read(tmp_path):
    lspci = stand_in(tmp_path / "lspci", [("-nn", fixture("a100-80gb-mig", "lspci-nn.txt"), 0)])
    smi = nvidia_smi_for(tmp_path / "nvidia-smi", "a100-80gb-mig")
    facts = gpu_facts.gather(run, sysfs_root=str(tmp_path / "no-sysfs"), nvidia_smi_path=smi, lspci_path=lspci)
    assert facts["sources"] == ["lspci", "nvidia-smi"]
    assert facts["count"] == 2
    assert facts["gpus"][0]["pci_name"] == "NVIDIA Corporation GA100 [A100 SXM4 80GB]"
    assert facts["gpus"][0]["mig_enabled"] is True
    assert len(facts["warnings"]) == 1 and facts["warnings"][0].startswith("sysfs: cannot list ")


def test_without_sysfs_and_lspci_nvidia_smi_alone_still_reports_the_gpus(tmp_path):
    smi = nvidia_smi_for(tmp_path / "nvidia-smi", "l4-1x")
    facts = gpu_facts.gather(run, sysfs_root=str(tmp_path / "no-sysfs"), nvidia_smi_path=smi)
    assert facts["sources"] == ["nvidia-smi"]
    assert facts["count"] == 1 and facts["gpus"][0]["pci_address"] == "0000:00:03.0"
    assert "lspci not found: no PCI scan besides sysfs" in facts["warnings"]


# --------------------------------------------------------------------------- malformed and partial output


def test_driver_that_cannot_be_reached_keeps_the_sysfs_gpus_and_says_why(tmp_path):
    sysfs = build_sysfs(tmp_path / "sys", fixture("h100-8x", "pci-devices.txt"))
    smi = stand_in(tmp_path / "nvidia-smi", [("", fixture("malformed", "nvidia-smi-driver-failed.txt"), 9)])
    facts = gpu_facts.gather(run, sysfs_root=str(sysfs), nvidia_smi_path=smi)
    assert facts["nvidia_smi"] == "failed"
    assert facts["count"] == 8
    assert facts["node_labels"]["nvidia.com/gpu.product"] == "NVIDIA-H100-80GB-HBM3"
    assert facts["driver_version"] is None
    (warning,) = facts["warnings"]
    assert warning.startswith(
        "nvidia-smi --query-gpu cannot talk to the NVIDIA driver (rc=9): the driver is not loaded or does not match: "
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."
    )


def test_truncated_query_output_enriches_what_it_can(tmp_path):
    sysfs = host_sysfs(tmp_path / "sys", "h100-8x")
    smi = stand_in(
        tmp_path / "nvidia-smi",
        [
            ("--query-gpu", fixture("malformed", "nvidia-smi-query-truncated.csv"), 0),
            ("-L", fixture("h100-8x", "nvidia-smi-L.txt"), 0),
        ],
    )
    facts = gpu_facts.gather(run, sysfs_root=str(sysfs), nvidia_smi_path=smi)
    assert facts["count"] == 8
    # --query-gpu described GPUs 0 and 1 before it was cut; nvidia-smi -L still names and identifies all eight
    assert [gpu["memory_mib"] for gpu in facts["gpus"]] == [81559, 81559] + [None] * 6
    assert [gpu["index"] for gpu in facts["gpus"]] == list(range(8))
    assert [gpu["pci_address"] for gpu in facts["gpus"]] == H100_ADDRESSES
    assert facts["gpus"][7]["uuid"] == "GPU-c24f6aa8-3bf3-4a14-bc2f-7ad016edc5d4"
    (warning,) = facts["warnings"]
    assert warning == (
        "nvidia-smi --query-gpu: line 3 has 3 field(s), expected 8: "
        "'2, NVIDIA H100 80GB HBM3, GPU-cfaf0010-3f58-4ad4-a308-24d215ce'"
    )


def test_truncated_output_without_nvidia_smi_list_names_the_gpus_it_missed(tmp_path):
    sysfs = host_sysfs(tmp_path / "sys", "h100-8x")
    smi = stand_in(
        tmp_path / "nvidia-smi",
        [("--query-gpu", fixture("malformed", "nvidia-smi-query-truncated.csv"), 0), ("-L", "", 0)],
    )
    facts = gpu_facts.gather(run, sysfs_root=str(sysfs), nvidia_smi_path=smi)
    assert facts["count"] == 8
    assert facts["warnings"][1] == (
        "6 of 8 NVIDIA GPU(s) on the PCI bus were not reported by nvidia-smi (the driver cannot use them, "
        "or its output was incomplete): " + ", ".join(H100_ADDRESSES[2:])
    )


def test_garbage_query_output_is_a_warning_not_a_traceback(tmp_path):
    sysfs = host_sysfs(tmp_path / "sys", "l4-1x")
    smi = stand_in(
        tmp_path / "nvidia-smi",
        [("--query-gpu", fixture("malformed", "nvidia-smi-query-garbage.txt"), 0), ("-L", "\x00\x01junk\n", 0)],
    )
    facts = gpu_facts.gather(run, sysfs_root=str(sysfs), nvidia_smi_path=smi)
    assert facts["count"] == 1
    assert facts["gpus"][0]["product_name"] == "NVIDIA L4"  # from the device id
    assert facts["gpus"][0]["uuid"] is None
    assert any("line 1 has 1 field(s), expected 8" in warning for warning in facts["warnings"])
    assert any(warning.startswith("nvidia-smi -L: ignored 1 line(s)") for warning in facts["warnings"])


def test_older_driver_without_compute_cap_is_queried_again_without_it(tmp_path):
    sysfs = host_sysfs(tmp_path / "sys", "h100-8x")
    seven = "\n".join(
        line.rsplit(", ", 2)[0] + ", " + line.rsplit(", ", 1)[1]
        for line in fixture("h100-8x", "nvidia-smi-query.csv").splitlines()
    )
    smi = stand_in(
        tmp_path / "nvidia-smi",
        [
            ("compute_cap", fixture("malformed", "nvidia-smi-query-old-driver.txt"), 2),
            ("--query-gpu", seven + "\n", 0),
            ("-L", fixture("h100-8x", "nvidia-smi-L.txt"), 0),
        ],
    )
    facts = gpu_facts.gather(run, sysfs_root=str(sysfs), nvidia_smi_path=smi)
    assert facts["warnings"] == []
    assert facts["gpus"][7]["uuid"] == "GPU-c24f6aa8-3bf3-4a14-bc2f-7ad016edc5d4"
    assert facts["gpus"][7]["pci_address"] == "0000:db:00.0"
    assert facts["gpus"][7]["compute_capability"] is None


def test_no_devices_found_means_the_driver_sees_none_of_the_pci_gpus(tmp_path):
    lines = fixture("l4-1x", "pci-devices.txt").replace("0x030200 nvidia", "0x030200 vfio-pci")
    sysfs = build_sysfs(tmp_path / "sys", lines)
    smi = stand_in(tmp_path / "nvidia-smi", [("", "No devices were found\n", 6)])
    facts = gpu_facts.gather(run, sysfs_root=str(sysfs), nvidia_smi_path=smi)
    assert facts["nvidia_smi"] == "ok"
    assert facts["count"] == 1
    assert facts["gpus"][0]["kernel_driver"] == "vfio-pci"
    assert facts["warnings"] == [
        "1 of 1 NVIDIA GPU(s) on the PCI bus were not reported by nvidia-smi (the driver cannot use them, "
        "or its output was incomplete): 0000:00:03.0"
    ]


def test_smi_list_with_garbage_and_a_cut_mig_line():
    gpus, warnings = gpu_facts.parse_smi_list(fixture("malformed", "nvidia-smi-L-garbage.txt"))
    assert [(gpu["index"], gpu["uuid"]) for gpu in gpus] == [
        (0, "GPU-6018366c-f658-47a7-9ed3-4fe53a096533"),
        (2, "GPU-cfaf0010-3f58-4ad4-a308-24d215ceb3a1"),
    ]
    assert all(gpu["mig_devices"] == [] for gpu in gpus)
    assert warnings == [
        "nvidia-smi -L: ignored 2 line(s) it could not parse, first: "
        "'Unable to determine the device handle for GPU0001:00:2A.0: Unknown Error'"
    ]


def test_smi_list_understands_the_r450_mig_line_style():
    text = (
        "GPU 0: A100-SXM4-40GB (UUID: GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77)\n"
        "  MIG 1g.5gb Device 0: (UUID: MIG-GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77/7/0)\n"
        "  MIG 1g.5gb Device 1: (UUID: MIG-GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77/8/0)\n"
    )
    gpus, warnings = gpu_facts.parse_smi_list(text)
    assert warnings == []
    assert gpus[0]["name"] == "A100-SXM4-40GB"
    assert [dev["uuid"] for dev in gpus[0]["mig_devices"]] == [
        "MIG-GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77/7/0",
        "MIG-GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77/8/0",
    ]


def test_smi_list_mig_line_before_any_gpu_is_ignored():
    gpus, warnings = gpu_facts.parse_smi_list("  MIG 1g.10gb     Device  0: (UUID: MIG-x)\n")
    assert gpus == []
    assert warnings == ["nvidia-smi -L: 1 MIG device line(s) before any GPU line were ignored"]


def test_query_placeholders_units_and_bad_cells():
    text = (
        "0, NVIDIA L4, GPU-a, 23034 MiB, 550.90.07, [N/A], 8.9, 00000000:00:03.0\n"
        "x, NVIDIA L4, GPU-b, 23034, 550.90.07, [N/A], 8.9, 00000000:00:04.0\n"
        "2, NVIDIA L4, [Insufficient Permissions], lots, 550.90.07, [Not Supported], [N/A], 0000:zz\n"
    )
    rows, warnings = gpu_facts.parse_smi_query(text)
    assert [row["index"] for row in rows] == [0, 2]
    assert rows[0]["memory.total"] == 23034 and rows[0]["mig.mode.current"] is None
    assert rows[1]["uuid"] is None and rows[1]["memory.total"] is None and rows[1]["pci.bus_id"] is None
    assert warnings == [
        "nvidia-smi --query-gpu: line 2 has no GPU index: 'x, NVIDIA L4, GPU-b, 23034, 550.90.07, [N/A], 8.9, 00000000:00:04.0'",
        "nvidia-smi --query-gpu: GPU 2: unexpected memory.total 'lots'",
        "nvidia-smi --query-gpu: GPU 2: unexpected pci.bus_id '0000:zz'",
    ]


def test_the_seven_field_query_is_matched_by_pci_order(tmp_path):
    """Without pci.bus_id the rows are matched to the PCI GPUs by position: both are in PCI bus order."""
    devices = gpu_facts.read_sysfs(str(host_sysfs(tmp_path, "a100-80gb-mig")))[0]
    seven = "\n".join(line.rsplit(", ", 1)[0] for line in fixture("a100-80gb-mig", "nvidia-smi-query.csv").splitlines())
    rows, warnings = gpu_facts.parse_smi_query(seven, gpu_facts.QUERY_FIELDS_BASIC)
    assert warnings == []
    facts = gpu_facts.build_facts(devices, smi_rows=rows, nvidia_smi="ok")
    assert facts["warnings"] == []
    assert [(gpu["pci_address"], gpu["uuid"][:12]) for gpu in facts["gpus"]] == [
        ("0000:07:00.0", "GPU-852a5fba"),
        ("0000:0f:00.0", "GPU-e941aa79"),
    ]


def test_rows_without_bus_ids_that_do_not_add_up_are_not_guessed(tmp_path):
    devices = gpu_facts.read_sysfs(str(host_sysfs(tmp_path, "h100-8x")))[0]
    rows = gpu_facts.parse_smi_query(
        "0, NVIDIA H100 80GB HBM3, GPU-a, 81559, 535.129.03, Disabled, 9.0\n", gpu_facts.QUERY_FIELDS_BASIC
    )[0]
    listed = gpu_facts.parse_smi_list("GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-a)\n")[0]
    facts = gpu_facts.build_facts(devices, smi_rows=rows, smi_list=listed, nvidia_smi="ok")
    assert facts["count"] == 8  # no duplicates
    assert all(gpu["uuid"] is None for gpu in facts["gpus"])
    assert facts["warnings"][0] == (
        "nvidia-smi reports 1 GPU(s) without PCI bus ids and the PCI scan 8: cannot match them, driver details left out"
    )


def test_gpu_the_pci_scan_missed_is_added_and_reported(tmp_path):
    lines = "\n".join(
        line for line in fixture("a100-80gb-mig", "pci-devices.txt").splitlines() if "0f:00.0" not in line
    )
    facts = gpu_facts.gather(
        run,
        sysfs_root=str(build_sysfs(tmp_path / "sys", lines)),
        nvidia_smi_path=nvidia_smi_for(tmp_path / "nvidia-smi", "a100-80gb-mig"),
    )
    assert facts["count"] == 2
    assert facts["gpus"][1]["pci_address"] == "0000:0f:00.0" and facts["gpus"][1]["sources"] == ["nvidia-smi"]
    assert facts["warnings"] == ["nvidia-smi reports GPU(s) 0000:0f:00.0 that the PCI scan did not find"]


# --------------------------------------------------------------------------- sysfs edge cases


def test_workstation_gpu_audio_function_is_not_a_gpu_and_unknown_products_get_no_label(tmp_path):
    sysfs = build_sysfs(
        tmp_path,
        "0000:01:00.0 0x10de 0x2684 0x030000 nvidia 0\n0000:01:00.1 0x10de 0x22ba 0x040300 snd_hda_intel 0\n",
    )
    facts = gpu_facts.gather(run, sysfs_root=str(sysfs))
    assert facts["count"] == 1
    assert facts["gpus"][0]["product_name"] is None
    assert "nvidia.com/gpu.product" not in facts["node_labels"]
    assert facts["node_labels"]["nvidia.com/gpu.present"] == "true"
    assert facts["node_taints"] != []
    assert facts["warnings"] == [
        "GPU 0000:01:00.0 (device id 2684) is not a product this collection knows and nvidia-smi did not name it: "
        "no nvidia.com/gpu.product label"
    ]


def test_gpu_bound_to_nouveau_is_reported(tmp_path):
    lines = fixture("l4-1x", "pci-devices.txt").replace("0x030200 nvidia", "0x030200 nouveau")
    facts = gpu_facts.gather(run, sysfs_root=str(build_sysfs(tmp_path, lines)))
    assert facts["gpus"][0]["kernel_driver"] == "nouveau"
    assert facts["warnings"] == [
        "GPU 0000:00:03.0 is bound to the nouveau driver: blacklist nouveau so that the NVIDIA driver can load"
    ]


def test_unreadable_or_garbled_sysfs_entries_are_skipped_with_a_warning(tmp_path):
    sysfs = build_sysfs(tmp_path, fixture("driver-missing", "pci-devices.txt"))
    devices = sysfs / "bus" / "pci" / "devices"
    (devices / "0000:4a:00.0" / "class").unlink()
    (devices / "0000:61:00.0" / "device").write_text("0xGPU!\n", encoding="ascii")
    (devices / "0000:00:00.0" / "vendor").unlink()
    (devices / "0000:02:00.0" / "vendor").write_text("\n", encoding="ascii")
    found, warnings, readable = gpu_facts.read_sysfs(str(sysfs))
    assert readable is True
    assert [device["pci_address"] for device in found] == ["0000:ca:00.0", "0000:e1:00.0"]
    assert warnings == [
        "sysfs: 0000:00:00.0: cannot read vendor: No such file or directory",
        "sysfs: 0000:02:00.0: unexpected vendor ''",
        "sysfs: NVIDIA device 0000:4a:00.0: cannot read class/device: No such file or directory",
        "sysfs: NVIDIA device 0000:61:00.0: unexpected class '0x030200' or device '0xGPU!'",
    ]


def test_mixed_models_label_the_node_with_the_first_and_say_so(tmp_path):
    sysfs = build_sysfs(tmp_path, "0000:17:00.0 0x10de 0x26b9 0x030200 - 0\n0000:65:00.0 0x10de 0x27b8 0x030200 - 0\n")
    facts = gpu_facts.gather(run, sysfs_root=str(sysfs))
    assert facts["node_labels"]["nvidia.com/gpu.product"] == "NVIDIA-L40S"
    assert facts["warnings"] == [
        "GPUs of different models on one host (NVIDIA L4, NVIDIA L40S): the node is labelled with the first"
    ]


def test_a_missing_or_not_executable_tool_path_is_a_warning(tmp_path):
    sysfs = host_sysfs(tmp_path / "sys", "l4-1x")
    (tmp_path / "nvidia-smi").write_text("not executable\n", encoding="utf-8")
    facts = gpu_facts.gather(run, sysfs_root=str(sysfs), nvidia_smi_path=str(tmp_path / "nvidia-smi"))
    assert facts["nvidia_smi"] == "not found"
    assert facts["count"] == 1
    assert facts["warnings"] == [f"nvidia_smi_path {tmp_path / 'nvidia-smi'} is not an executable file: not used"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0000:18:00.0", "0000:18:00.0"),
        ("00000000:2A:00.0", "0000:2a:00.0"),
        ("18:00.0", "0000:18:00.0"),
        ("0001:c4:00.7", "0001:c4:00.7"),
        ("18:00.8", None),
        ("garbage", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_pci_address(value, expected):
    assert gpu_facts.normalize_pci_address(value) == expected


def test_mig_devices_alone_mark_the_gpu_mig_enabled(tmp_path):
    """When only nvidia-smi -L is known, listed MIG devices mean MIG mode is on."""
    devices = gpu_facts.read_sysfs(str(host_sysfs(tmp_path, "a100-80gb-mig")))[0]
    listed, warnings = gpu_facts.parse_smi_list(fixture("a100-80gb-mig", "nvidia-smi-L.txt"))
    assert warnings == []
    facts = gpu_facts.build_facts(devices, smi_list=listed, nvidia_smi="ok")
    assert facts["warnings"] == []
    assert [gpu["mig_enabled"] for gpu in facts["gpus"]] == [True, False]
    assert facts["gpus"][1]["uuid"] == "GPU-e941aa79-e6ed-4f80-b96d-3bc4685ca8af"
    assert facts["gpus"][1]["product_name"] == "NVIDIA A100-SXM4-80GB"
