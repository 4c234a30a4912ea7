# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Detect the NVIDIA GPUs of a host and derive the node labels and taint the hosts layer applies.

Plain Python, Python 3.8 compatible, no third-party imports: it runs on the managed hosts.

Sources, most trusted first:

1. sysfs (``/sys/bus/pci/devices/*``): the ground truth of what sits on the PCI bus. It needs no
   driver, so it also works before the NVIDIA driver is installed. Every device with vendor
   ``0x10de`` and a display (``0x0300``) or 3D controller (``0x0302``) class is a GPU; NVSwitches
   (bridges) and HDMI audio functions of the same vendor are not.
2. ``lspci -nn -D`` or ``lspci -vmm -nn -D``: the same information, used only when sysfs cannot
   be read (containers with a restricted ``/sys``).
3. ``nvidia-smi --query-gpu=... --format=csv,noheader,nounits`` and ``nvidia-smi -L``: enrich the
   PCI devices with what only the driver knows (product name, memory, UUID, driver version,
   compute capability, MIG mode and MIG devices). It is optional: when it is missing (driver not
   installed, or installed by the GPU operator's driver container) the facts come from sysfs alone.

Nothing here raises on bad input: malformed or partial output becomes a line in ``warnings`` and
whatever could be read is still returned.
"""

import csv
import os
import re

NVIDIA_VENDOR_ID = "10de"

# PCI class codes (base class + subclass) of GPUs: VGA compatible controller, 3D controller.  The GPU
# operator's node feature discovery looks at the same two classes.
GPU_PCI_CLASSES = ("0300", "0302")

# PCI device id -> (product name as the driver (NVML / nvidia-smi) reports it, MIG capable).  Used when
# nvidia-smi is not available, so that the labels set before the driver is installed are the ones the
# GPU operator's feature discovery sets afterwards.  Unknown ids still count as GPUs, without a product.
KNOWN_DEVICES = {
    "2330": ("NVIDIA H100 80GB HBM3", True),  # GH100 [H100 SXM5 80GB]
    "2331": ("NVIDIA H100 PCIe", True),  # GH100 [H100 PCIe]
    "2321": ("NVIDIA H100 NVL", True),  # GH100L [H100 NVL]
    "2335": ("NVIDIA H200", True),  # GH100 [H200 SXM 141GB]
    "20b0": ("NVIDIA A100-SXM4-40GB", True),  # GA100 [A100 SXM4 40GB]
    "20b2": ("NVIDIA A100-SXM4-80GB", True),  # GA100 [A100 SXM4 80GB]
    "20b5": ("NVIDIA A100 80GB PCIe", True),  # GA100 [A100 PCIe 80GB]
    "20f1": ("NVIDIA A100-PCIE-40GB", True),  # GA100 [A100 PCIe 40GB]
    "20b7": ("NVIDIA A30", True),  # GA100GL [A30 PCIe]
    "26b9": ("NVIDIA L40S", False),  # AD102GL [L40S]
    "26b5": ("NVIDIA L40", False),  # AD102GL [L40]
    "27b8": ("NVIDIA L4", False),  # AD104GL [L4]
    "2236": ("NVIDIA A10", False),  # GA102GL [A10]
    "1eb8": ("Tesla T4", False),  # TU104GL [Tesla T4]
    "1db1": ("Tesla V100-SXM2-16GB", False),  # GV100GL [Tesla V100 SXM2 16GB]
    "1db5": ("Tesla V100-SXM2-32GB", False),  # GV100GL [Tesla V100 SXM2 32GB]
    "1db4": ("Tesla V100-PCIE-16GB", False),  # GV100GL [Tesla V100 PCIe 16GB]
    "1db6": ("Tesla V100-PCIE-32GB", False),  # GV100GL [Tesla V100 PCIe 32GB]
}

# The nvidia-smi query the module runs.  pci.bus_id comes last so that the GPUs can be matched to the PCI
# devices by address; without it (QUERY_FIELDS_BASIC) they are matched by index, which nvidia-smi assigns
# in PCI bus order.
QUERY_FIELDS = (
    "index",
    "name",
    "uuid",
    "memory.total",
    "driver_version",
    "mig.mode.current",
    "compute_cap",
    "pci.bus_id",
)
QUERY_FIELDS_BASIC = QUERY_FIELDS[:-1]

LABEL_PRESENT = "nvidia.com/gpu.present"
LABEL_PRODUCT = "nvidia.com/gpu.product"
LABEL_COUNT = "nvidia.com/gpu.count"
LABEL_MIG_CAPABLE = "nvidia.com/mig.capable"
LABEL_CLOUDFORGE = "cloudforge.io/gpu"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}

_NOT_AVAILABLE = ("", "n/a", "[n/a]", "[not supported]", "[insufficient permissions]", "[unknown error]", "[gpu lost]")
_PCI_ADDRESS_RE = re.compile(r"^(?:(?P<domain>[0-9a-fA-F]{4,8}):)?(?P<bdf>[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])$")
_LSPCI_NN_RE = re.compile(
    r"^(?P<slot>\S+)\s+(?P<class_name>.*?)\s*\[(?P<class>[0-9a-fA-F]{4})\]:\s*(?P<name>.*?)\s*"
    r"\[(?P<vendor>[0-9a-fA-F]{4}):(?P<device>[0-9a-fA-F]{4})\](?:\s*\(.*\))?\s*$"
)
_BRACKET_ID_RE = re.compile(r"^(?P<text>.*?)\s*\[(?P<id>[0-9a-fA-F]{4})\]\s*$")
_SMI_GPU_RE = re.compile(r"^GPU\s+(?P<index>\d+):\s*(?P<name>.*?)\s*\(UUID:\s*(?P<uuid>[^)\s]+)\s*\)\s*$")
_SMI_MIG_RE = re.compile(r"^MIG\s+(?P<profile>\S+)\s+Device\s+(?P<index>\d+):\s*\(UUID:\s*(?P<uuid>[^)\s]+)\s*\)\s*$")
_LABEL_VALUE_RE = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)$")


def _clip(text, limit=120):
    """One line of untrusted output, short enough for a warning."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def normalize_pci_address(value):
    """``0000:18:00.0`` for any of ``18:00.0``, ``0000:18:00.0``, ``00000000:18:00.0`` (nvidia-smi); else None."""
    match = _PCI_ADDRESS_RE.match(str(value or "").strip())
    if not match:
        return None
    domain = (match.group("domain") or "0000")[-4:]
    return "{}:{}".format(domain, match.group("bdf")).lower()


def product_label(name):
    """The value of ``nvidia.com/gpu.product`` that GPU feature discovery derives from a product name.

    Like its ``sanitise()``: drop every character but letters, digits, ``-``, ``_``, ``.`` and spaces, then
    join the words with dashes (``NVIDIA H100 80GB HBM3`` -> ``NVIDIA-H100-80GB-HBM3``).  None when nothing
    usable is left.
    """
    if not name:
        return None
    cleaned = re.sub(r"[^A-Za-z0-9_. -]", "", str(name))
    label = "-".join(cleaned.split())
    return label or None


def is_gpu(vendor_id, class_code):
    """True for an NVIDIA display or 3D controller (vendor 10de, class 0300xx / 0302xx)."""
    return vendor_id == NVIDIA_VENDOR_ID and class_code[:4] in GPU_PCI_CLASSES


def _read(path):
    with open(path, encoding="ascii", errors="replace") as handle:
        return handle.read().strip()


def _hex_id(text, digits):
    """``0x10de`` / ``10de`` -> ``10de`` (lower case, ``digits`` long), else None."""
    text = str(text).strip().lower()
    if text.startswith("0x"):
        text = text[2:]
    if len(text) != digits or not re.match(r"^[0-9a-f]+$", text):
        return None
    return text


def read_kernel_module_version(sysfs_root):
    """The version of the loaded ``nvidia`` kernel module (``/sys/module/nvidia/version``), or None."""
    try:
        return _read(os.path.join(sysfs_root, "module", "nvidia", "version")) or None
    except OSError:
        return None


def read_sysfs(sysfs_root):
    """NVIDIA GPUs on the PCI bus according to sysfs.

    Returns ``(devices, warnings, readable)``; ``readable`` is False when the PCI device directory
    cannot be listed at all (then another source has to be used).
    """
    base = os.path.join(sysfs_root, "bus", "pci", "devices")
    warnings = []
    try:
        entries = sorted(os.listdir(base))
    except OSError as exc:
        return [], [f"sysfs: cannot list {base}: {exc.strerror or exc}"], False
    devices = []
    for entry in entries:
        path = os.path.join(base, entry)
        try:
            raw_vendor = _read(os.path.join(path, "vendor"))
        except OSError as exc:
            warnings.append(f"sysfs: {entry}: cannot read vendor: {exc.strerror or exc}")
            continue
        vendor = _hex_id(raw_vendor, 4)
        if vendor is None:
            warnings.append(f"sysfs: {entry}: unexpected vendor {_clip(raw_vendor, 40)!r}")
            continue
        if vendor != NVIDIA_VENDOR_ID:
            continue
        address = normalize_pci_address(entry)
        try:
            raw_class, raw_device = _read(os.path.join(path, "class")), _read(os.path.join(path, "device"))
        except OSError as exc:
            warnings.append(f"sysfs: NVIDIA device {entry}: cannot read class/device: {exc.strerror or exc}")
            continue
        class_code, device_id = _hex_id(raw_class, 6), _hex_id(raw_device, 4)
        if address is None or class_code is None or device_id is None:
            warnings.append(
                f"sysfs: NVIDIA device {entry}: unexpected class {_clip(raw_class, 20)!r} or device {_clip(raw_device, 20)!r}"
            )
            continue
        if not is_gpu(vendor, class_code):
            continue  # NVSwitch, HDMI audio, USB-C controller of a GPU board
        devices.append(
            {
                "pci_address": address,
                "vendor_id": vendor,
                "device_id": device_id,
                "class_code": class_code[:4],
                "kernel_driver": _kernel_driver(path),
                "numa_node": _numa_node(path),
                "pci_name": None,
            }
        )
    return devices, warnings, True


def _kernel_driver(device_path):
    try:
        return os.path.basename(os.readlink(os.path.join(device_path, "driver"))) or None
    except OSError:
        return None


def _numa_node(device_path):
    try:
        node = int(_read(os.path.join(device_path, "numa_node")))
    except (OSError, ValueError):
        return None
    return node if node >= 0 else None  # -1: no NUMA affinity


def parse_lspci_nn(text):
    """NVIDIA GPUs in ``lspci -nn [-D]`` output.  Returns ``(devices, warnings)``."""
    devices, bad = [], []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        match = _LSPCI_NN_RE.match(line.strip())
        address = normalize_pci_address(match.group("slot")) if match else None
        if not match or address is None:
            bad.append(line)
            continue
        vendor, class_code = match.group("vendor").lower(), match.group("class").lower()
        if is_gpu(vendor, class_code):
            devices.append(_lspci_device(address, vendor, match.group("device"), class_code, match.group("name")))
    return devices, _unparsed_warning("lspci -nn", bad)


def parse_lspci_vmm(text):
    """NVIDIA GPUs in ``lspci -vmm -nn [-D]`` output (``Key:<tab>value`` records).  Returns ``(devices, warnings)``."""
    devices, warnings, records = [], [], []
    record = {}
    for line in [*(text or "").splitlines(), ""]:
        if not line.strip():
            if record:
                records.append(record)
            record = {}
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip() or " " in key.strip():
            warnings.append(f"lspci -vmm: unexpected line {_clip(line, 60)!r}")
            continue
        record[key.strip()] = value.strip()
    for record in records:
        address = normalize_pci_address(record.get("Slot"))
        fields = {}
        for key in ("Class", "Vendor", "Device"):
            match = _BRACKET_ID_RE.match(record.get(key, ""))
            fields[key] = (match.group("text"), match.group("id").lower()) if match else (None, None)
        if address is None or None in (fields["Class"][1], fields["Vendor"][1], fields["Device"][1]):
            warnings.append(
                "lspci -vmm: record {!r} lacks a slot or numeric ids (run lspci with -nn)".format(
                    _clip(record.get("Slot", "?"), 20)
                )
            )
            continue
        if is_gpu(fields["Vendor"][1], fields["Class"][1]):
            device = _lspci_device(
                address, fields["Vendor"][1], fields["Device"][1], fields["Class"][1], fields["Device"][0]
            )
            device["numa_node"] = _int_or_none(record.get("NUMANode"))
            devices.append(device)
    return devices, warnings


def _lspci_device(address, vendor, device_id, class_code, name):
    return {
        "pci_address": address,
        "vendor_id": vendor,
        "device_id": device_id.lower(),
        "class_code": class_code[:4],
        "kernel_driver": None,
        "numa_node": None,
        "pci_name": name or None,
    }


def _unparsed_warning(source, lines):
    if not lines:
        return []
    return [f"{source}: ignored {len(lines)} line(s) it could not parse, first: {_clip(lines[0], 80)!r}"]


def _int_or_none(value):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _value(text):
    """A CSV cell of nvidia-smi, None for the placeholders it prints when a value is unavailable."""
    text = (text or "").strip()
    return None if text.lower() in _NOT_AVAILABLE else text


def smi_failure(rc, stdout, stderr, what="nvidia-smi"):
    """A warning for a failed nvidia-smi run, or None when it succeeded.

    ``No devices were found`` is not a failure: nvidia-smi works and there is no GPU the driver can use.
    """
    text = "\n".join(part for part in (stdout, stderr) if part and part.strip())
    if "no devices were found" in text.lower():
        return None
    if rc == 0:
        return None
    first = _clip(text.strip().splitlines()[0]) if text.strip() else "no output"
    if "couldn't communicate with the nvidia driver" in text.lower():
        return f"{what} cannot talk to the NVIDIA driver (rc={rc}): the driver is not loaded or does not match: {first}"
    return f"{what} failed (rc={rc}): {first}"


def parse_smi_query(text, fields=QUERY_FIELDS):
    """Rows of ``nvidia-smi --query-gpu=<fields> --format=csv,noheader,nounits``.

    Returns ``(rows, warnings)``; each row is a dict keyed by field name with placeholders such as
    ``[N/A]`` turned into None, ``index`` an int and ``memory.total`` an int (MiB).  A line with the
    wrong number of cells or no integer index is skipped with a warning.
    """
    rows, warnings = [], []
    lines = [line for line in (text or "").splitlines() if line.strip()]
    if any("no devices were found" in line.lower() for line in lines):
        return [], []
    for number, cells in enumerate(csv.reader(lines, skipinitialspace=True), start=1):
        if len(cells) != len(fields):
            warnings.append(
                "nvidia-smi --query-gpu: line {} has {} field(s), expected {}: {!r}".format(
                    number, len(cells), len(fields), _clip(", ".join(cells), 80)
                )
            )
            continue
        row = {field: _value(cell) for field, cell in zip(fields, cells)}
        row["index"] = _int_or_none(row.get("index"))
        if row["index"] is None:
            warnings.append(f"nvidia-smi --query-gpu: line {number} has no GPU index: {_clip(lines[number - 1], 80)!r}")
            continue
        if "memory.total" in row:
            memory = row["memory.total"]
            row["memory.total"] = _int_or_none(re.sub(r"\s*MiB$", "", memory)) if memory else None
            if memory and row["memory.total"] is None:
                warnings.append(
                    "nvidia-smi --query-gpu: GPU {}: unexpected memory.total {!r}".format(
                        row["index"], _clip(memory, 20)
                    )
                )
        if "pci.bus_id" in row:
            raw = row["pci.bus_id"]
            row["pci.bus_id"] = normalize_pci_address(raw)
            if raw and row["pci.bus_id"] is None:
                warnings.append(
                    "nvidia-smi --query-gpu: GPU {}: unexpected pci.bus_id {!r}".format(row["index"], _clip(raw, 20))
                )
        rows.append(row)
    return rows, warnings


def parse_smi_list(text):
    """GPUs and their MIG devices in ``nvidia-smi -L`` output.  Returns ``(gpus, warnings)``.

    Each GPU is ``{index, name, uuid, mig_devices: [{index, profile, uuid}]}``.  Both MIG line styles are
    understood: ``MIG 1g.10gb     Device  0: (UUID: MIG-<uuid>)`` and the R450 style
    ``MIG 1g.5gb Device 0: (UUID: MIG-GPU-<uuid>/1/0)``.
    """
    gpus, bad, orphans = [], [], []
    for line in (text or "").splitlines():
        stripped = line.strip()
        if not stripped or stripped.lower().startswith("no devices were found"):
            continue
        gpu = _SMI_GPU_RE.match(stripped)
        if gpu:
            gpus.append(
                {
                    "index": int(gpu.group("index")),
                    "name": gpu.group("name") or None,
                    "uuid": gpu.group("uuid"),
                    "mig_devices": [],
                }
            )
            continue
        mig = _SMI_MIG_RE.match(stripped)
        if mig:
            entry = {"index": int(mig.group("index")), "profile": mig.group("profile"), "uuid": mig.group("uuid")}
            if gpus:
                gpus[-1]["mig_devices"].append(entry)
            else:
                orphans.append(stripped)
            continue
        bad.append(stripped)
    warnings = _unparsed_warning("nvidia-smi -L", bad)
    if orphans:
        warnings.append(f"nvidia-smi -L: {len(orphans)} MIG device line(s) before any GPU line were ignored")
    return gpus, warnings


def _new_gpu(device):
    known = KNOWN_DEVICES.get(device["device_id"]) if device else None
    return {
        "index": None,
        "pci_address": device["pci_address"] if device else None,
        "vendor_id": NVIDIA_VENDOR_ID,
        "device_id": device["device_id"] if device else None,
        "pci_name": device.get("pci_name") if device else None,
        "kernel_driver": device.get("kernel_driver") if device else None,
        "numa_node": device.get("numa_node") if device else None,
        "product_name": known[0] if known else None,
        "product_label": None,
        "memory_mib": None,
        "uuid": None,
        "driver_version": None,
        "compute_capability": None,
        "mig_capable": known[1] if known else None,
        "mig_enabled": False,
        "mig_devices": [],
        "sources": [],
    }


def _merge_query_row(gpu, row):
    gpu["index"] = row["index"]
    gpu["product_name"] = row.get("name") or gpu["product_name"]
    gpu["memory_mib"] = row.get("memory.total")
    gpu["uuid"] = row.get("uuid") or gpu["uuid"]
    gpu["driver_version"] = row.get("driver_version")
    gpu["compute_capability"] = row.get("compute_cap")
    mode = (row.get("mig.mode.current") or "").lower()
    if mode in ("enabled", "disabled"):
        gpu["mig_capable"] = True
        gpu["mig_enabled"] = mode == "enabled"
    elif "mig.mode.current" in row:
        gpu["mig_capable"] = False  # [N/A]: the GPU has no MIG mode at all
        gpu["mig_enabled"] = False


def build_facts(
    pci_devices,
    pci_source="sysfs",
    smi_rows=None,
    smi_list=None,
    kernel_module_version=None,
    warnings=None,
    nvidia_smi="not found",
):
    """Merge the sources into the ``cloudforge_gpu`` facts.

    ``pci_devices``: GPUs from read_sysfs() or parse_lspci_*(), None when no PCI source could be read.
    ``smi_rows`` / ``smi_list``: parsed nvidia-smi output, None when it did not run or failed.
    ``nvidia_smi``: how nvidia-smi went, one of ``ok``, ``failed``, ``not found``.
    """
    warnings = list(warnings or [])
    sources = []
    gpus = []
    by_address = {}
    if pci_devices is not None:
        sources.append(pci_source)
        for device in sorted(pci_devices, key=lambda item: item["pci_address"]):
            gpu = _new_gpu(device)
            gpu["sources"].append(pci_source)
            by_address[device["pci_address"]] = gpu
            gpus.append(gpu)

    pci_gpus = list(gpus)
    pci_scanned = pci_devices is not None
    if smi_rows:
        _merge_smi_rows(gpus, by_address, smi_rows, warnings, pci_scanned)
    if smi_list:
        _merge_smi_list(gpus, smi_list, warnings, pci_scanned)
    if smi_rows is not None or smi_list is not None:
        sources.append("nvidia-smi")
        _warn_unseen(pci_gpus, warnings)

    _order(gpus)
    for gpu in gpus:
        gpu["product_label"] = product_label(gpu["product_name"])
        if gpu["driver_version"] is None and kernel_module_version:
            gpu["driver_version"] = kernel_module_version
        if gpu["mig_enabled"] and gpu["mig_capable"] is not True:
            gpu["mig_capable"] = True
        if gpu["kernel_driver"] == "nouveau":
            warnings.append(
                "GPU {} is bound to the nouveau driver: blacklist nouveau so that the NVIDIA driver can load".format(
                    gpu["pci_address"]
                )
            )
        if gpu["product_name"] is None:
            warnings.append(
                "GPU {} (device id {}) is not a product this collection knows and nvidia-smi did not name it: "
                "no nvidia.com/gpu.product label".format(gpu["pci_address"] or gpu["index"], gpu["device_id"])
            )

    facts = _summary(gpus, kernel_module_version, nvidia_smi, warnings)
    facts["sources"] = sources
    return facts


def _merge_smi_rows(gpus, by_address, rows, warnings, pci_scanned):
    """Attach each --query-gpu row to its PCI GPU: by bus id, else by position (both in PCI bus order)."""
    pci_gpus = list(gpus)
    rows = sorted(rows, key=lambda item: item["index"])
    with_address = all(row.get("pci.bus_id") for row in rows)
    if not with_address and pci_gpus and len(rows) != len(pci_gpus):
        warnings.append(
            f"nvidia-smi reports {len(rows)} GPU(s) without PCI bus ids and the PCI scan {len(pci_gpus)}: cannot match them, "
            "driver details left out"
        )
        return
    unmatched = []
    for position, row in enumerate(rows):
        gpu = by_address.get(row["pci.bus_id"]) if with_address else pci_gpus[position] if pci_gpus else None
        if gpu is None:
            gpu = _new_gpu(None)
            gpu["pci_address"] = row.get("pci.bus_id")
            gpus.append(gpu)
            unmatched.append(str(row.get("pci.bus_id") or row["index"]))
        _merge_query_row(gpu, row)
        gpu["sources"].append("nvidia-smi")
    if unmatched and pci_scanned:
        warnings.append("nvidia-smi reports GPU(s) {} that the PCI scan did not find".format(", ".join(unmatched)))


def _warn_unseen(pci_gpus, warnings):
    unseen = [gpu["pci_address"] for gpu in pci_gpus if "nvidia-smi" not in gpu["sources"]]
    if unseen:
        warnings.append(
            "{} of {} NVIDIA GPU(s) on the PCI bus were not reported by nvidia-smi (the driver cannot use them, "
            "or its output was incomplete): {}".format(len(unseen), len(pci_gpus), ", ".join(unseen))
        )


def _merge_smi_list(gpus, listed, warnings, pci_scanned):
    """Attach ``nvidia-smi -L`` entries (UUIDs, MIG devices): by UUID or index, the rest by PCI order."""
    indexed = [gpu for gpu in gpus if "nvidia-smi" in gpu["sources"]]
    by_index = {gpu["index"]: gpu for gpu in indexed}
    by_uuid = {gpu["uuid"]: gpu for gpu in indexed if gpu["uuid"]}
    matched, rest = [], []
    for item in sorted(listed, key=lambda entry: entry["index"]):
        gpu = by_uuid.get(item["uuid"]) or by_index.get(item["index"])
        if gpu is None:
            rest.append(item)
        else:
            matched.append((gpu, item))
    # nvidia-smi numbers GPUs in PCI bus order, so the entries left over belong to the PCI GPUs that nvidia-smi
    # has not described yet, in the same order, provided there are as many of each.
    undescribed = [gpu for gpu in gpus if "nvidia-smi" not in gpu["sources"]]
    if rest and undescribed:
        if len(rest) == len(undescribed):
            for gpu, item in zip(undescribed, rest):
                gpu["index"] = item["index"]
                matched.append((gpu, item))
        else:
            warnings.append(
                f"nvidia-smi -L lists {len(rest)} GPU(s) that cannot be matched to the {len(undescribed)} "
                "PCI GPU(s) nvidia-smi has not described otherwise: driver details left out"
            )
    elif rest:
        for item in rest:
            gpu = _new_gpu(None)
            gpu["index"] = item["index"]
            gpus.append(gpu)
            matched.append((gpu, item))
        if indexed or pci_scanned:
            warnings.append(
                "nvidia-smi -L lists GPU(s) {} that {} did not find".format(
                    ", ".join(str(item["index"]) for item in rest), "--query-gpu" if indexed else "the PCI scan"
                )
            )
    for gpu, item in matched:
        if gpu["uuid"] and gpu["uuid"] != item["uuid"]:
            warnings.append("nvidia-smi -L and --query-gpu disagree about the UUID of GPU {}".format(item["index"]))
            continue
        gpu["uuid"] = item["uuid"]
        if "nvidia-smi" not in gpu["sources"]:
            gpu["product_name"] = item["name"] or gpu["product_name"]
            gpu["sources"].append("nvidia-smi")
        gpu["mig_devices"] = item["mig_devices"]
        if item["mig_devices"]:
            gpu["mig_enabled"] = True


def _order(gpus):
    """Sort by nvidia-smi index where known, else PCI address; number GPUs the driver has not indexed."""
    gpus.sort(key=lambda gpu: (gpu["index"] is None, gpu["index"] or 0, gpu["pci_address"] or ""))
    taken = {gpu["index"] for gpu in gpus if gpu["index"] is not None}
    next_index = 0
    for gpu in gpus:
        if gpu["index"] is None:
            while next_index in taken:
                next_index += 1
            gpu["index"] = next_index
            taken.add(next_index)


def _summary(gpus, kernel_module_version, nvidia_smi, warnings):
    count = len(gpus)
    names = [gpu["product_name"] for gpu in gpus if gpu["product_name"]]
    product_name = names[0] if names else None
    if len(set(names)) > 1:
        warnings.append(
            "GPUs of different models on one host ({}): the node is labelled with the first".format(
                ", ".join(sorted(set(names)))
            )
        )
    drivers = sorted({gpu["driver_version"] for gpu in gpus if gpu["driver_version"]})
    mig_capable = any(gpu["mig_capable"] for gpu in gpus)
    mig_enabled = any(gpu["mig_enabled"] for gpu in gpus)
    label = product_label(product_name)
    labels = {LABEL_CLOUDFORGE: "true" if count else "false"}
    taints = []
    if count:
        labels[LABEL_PRESENT] = "true"
        labels[LABEL_COUNT] = str(count)
        labels[LABEL_MIG_CAPABLE] = "true" if mig_capable else "false"
        if label and _LABEL_VALUE_RE.match(label):
            labels[LABEL_PRODUCT] = label
        elif label:
            warnings.append(f"product label {label!r} is not a valid Kubernetes label value; not set")
        taints.append(dict(GPU_TAINT))
    return {
        "present": bool(count),
        "count": count,
        "product_name": product_name,
        "product_label": label,
        "driver_version": drivers[0] if drivers else kernel_module_version,
        "kernel_module_version": kernel_module_version,
        "nvidia_smi": nvidia_smi,
        "mig_capable": mig_capable,
        "mig_enabled": mig_enabled,
        "mig_device_count": sum(len(gpu["mig_devices"]) for gpu in gpus),
        "gpus": gpus,
        "node_labels": labels,
        "node_taints": taints,
        "k3s_node_labels": [f"{key}={value}" for key, value in sorted(labels.items())],
        "k3s_node_taints": ["{key}={value}:{effect}".format(**taint) for taint in taints],
        "warnings": warnings,
    }


def _executable(path, name, warnings):
    if path and not (os.path.isfile(path) and os.access(path, os.X_OK)):
        warnings.append(f"{name} {path} is not an executable file: not used")
        return None
    return path


def gather(run, sysfs_root="/sys", nvidia_smi_path=None, lspci_path=None):
    """Collect the facts of this host.

    ``run(argv)`` runs a command and returns ``(rc, stdout, stderr)``; ``nvidia_smi_path`` / ``lspci_path``
    are executables or None when not found.  lspci runs only when sysfs cannot be read.
    """
    devices, warnings, readable = read_sysfs(sysfs_root)
    nvidia_smi_path = _executable(nvidia_smi_path, "nvidia_smi_path", warnings)
    lspci_path = _executable(lspci_path, "lspci_path", warnings)
    pci_source = "sysfs"
    if not readable:
        devices = None
        if lspci_path:
            rc, out, err = run([lspci_path, "-nn", "-D"])
            if rc == 0:
                devices, lspci_warnings = parse_lspci_nn(out)
                warnings.extend(lspci_warnings)
                pci_source = "lspci"
            else:
                warnings.append("lspci failed (rc={}): {}".format(rc, _clip(err or out or "no output")))
        else:
            warnings.append("lspci not found: no PCI scan besides sysfs")

    smi_rows = smi_list = None
    status = "not found"
    if nvidia_smi_path:
        status = "ok"
        fields = QUERY_FIELDS
        rc, out, err = run([nvidia_smi_path, "--query-gpu=" + ",".join(fields), "--format=csv,noheader,nounits"])
        if rc != 0 and "not a valid field" in (out + err).lower():
            # Drivers older than compute_cap / pci.bus_id support: ask for what they know.
            fields = tuple(field for field in QUERY_FIELDS if field != "compute_cap")
            rc, out, err = run([nvidia_smi_path, "--query-gpu=" + ",".join(fields), "--format=csv,noheader,nounits"])
        failure = smi_failure(rc, out, err, "nvidia-smi --query-gpu")
        if failure:
            warnings.append(failure)
            status = "failed"
        else:
            smi_rows, query_warnings = parse_smi_query(out, fields)
            warnings.extend(query_warnings)
            rc, out, err = run([nvidia_smi_path, "-L"])
            failure = smi_failure(rc, out, err, "nvidia-smi -L")
            if failure:
                warnings.append(failure)
            else:
                smi_list, list_warnings = parse_smi_list(out)
                warnings.extend(list_warnings)
    return build_facts(
        devices,
        pci_source=pci_source,
        smi_rows=smi_rows,
        smi_list=smi_list,
        kernel_module_version=read_kernel_module_version(sysfs_root),
        warnings=warnings,
        nvidia_smi=status,
    )
