#!/usr/bin/python
# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: gpu_facts
short_description: Detect the NVIDIA GPUs of a host and the node labels and taint they call for
version_added: 0.1.0
description:
  - Finds the NVIDIA GPUs on the PCI bus through sysfs (vendor C(0x10de), class VGA or 3D controller).
    This needs no driver, so it works before the NVIDIA driver is installed; NVSwitches and the audio
    functions of GPU boards are not GPUs.
  - Falls back to C(lspci -nn -D) only when sysfs cannot be read.
  - When C(nvidia-smi) is available, adds what only the driver knows to each GPU (product name, memory,
    UUID, driver version, compute capability, MIG mode and MIG devices from C(nvidia-smi -L)).
    Without it the product name comes from the PCI device id for the GPUs the collection knows.
  - Returns the facts as RV(ansible_facts.cloudforge_gpu), including the node labels
    (C(nvidia.com/gpu.present), C(nvidia.com/gpu.product), C(nvidia.com/gpu.count), C(nvidia.com/mig.capable),
    C(cloudforge.io/gpu)) and the taint (C(nvidia.com/gpu=present:NoSchedule)) the hosts layer applies.
  - Never fails because of what it finds. Malformed or partial tool output, GPUs the driver does not report
    and GPUs bound to nouveau are reported in RV(ansible_facts.cloudforge_gpu.warnings) and as task warnings.
author:
  - CloudForge maintainers (@cloudforge)
options:
  sysfs_root:
    description:
      - Where sysfs is mounted. The module reads C(<sysfs_root>/bus/pci/devices) and C(<sysfs_root>/module/nvidia/version).
      - Change it only to read a copy of another host's sysfs, for example in tests.
    type: path
    default: /sys
  nvidia_smi_path:
    description:
      - Path of C(nvidia-smi).
      - By default it is looked up on E(PATH) and in C(/usr/local/nvidia/bin); when it is not found, the facts come
        from the PCI scan alone (the driver is not installed, or the GPU operator's driver container runs it).
    type: path
  lspci_path:
    description:
      - Path of C(lspci), used only when sysfs cannot be read. By default it is looked up on E(PATH).
    type: path
notes:
  - Reads only; never changes anything.
  - The product label is derived from the name the driver reports exactly as the GPU operator's feature
    discovery derives the C(nvidia.com/gpu.product) label, so the labels set before and after the operator
    runs agree.
attributes:
  check_mode:
    support: full
    description: The module only reads, so check mode runs it unchanged.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
  facts:
    support: full
    description: Returns RV(ansible_facts.cloudforge_gpu).
"""

EXAMPLES = r"""
- name: Detect the GPUs
  cloudforge.platform.gpu_facts:

- name: Show what was found
  ansible.builtin.debug:
    msg: "{{ cloudforge_gpu.count }}x {{ cloudforge_gpu.product_name }}, MIG enabled: {{ cloudforge_gpu.mig_enabled }}"
  when: cloudforge_gpu.present

- name: Register the node with the GPU labels and taint (k3s config.yaml)
  ansible.builtin.copy:
    dest: /etc/rancher/k3s/config.yaml.d/50-gpu.yaml
    content: "{{ {'node-label': cloudforge_gpu.k3s_node_labels, 'node-taint': cloudforge_gpu.k3s_node_taints} | to_nice_yaml }}"
    mode: "0600"

- name: Use an nvidia-smi outside PATH
  cloudforge.platform.gpu_facts:
    nvidia_smi_path: /opt/nvidia/bin/nvidia-smi
"""

RETURN = r"""
ansible_facts:
  description: Facts to add to ansible_facts.
  returned: always
  type: dict
  contains:
    cloudforge_gpu:
      description: The NVIDIA GPUs of the host and what the hosts layer derives from them.
      returned: always
      type: dict
      contains:
        present:
          description: Whether the host has at least one NVIDIA GPU.
          returned: always
          type: bool
          sample: true
        count:
          description: Number of NVIDIA GPUs (whole GPUs; MIG devices are in RV(ansible_facts.cloudforge_gpu.gpus)).
          returned: always
          type: int
          sample: 8
        product_name:
          description: Product name of the first GPU as the driver reports it, or from the PCI device id; null if unknown.
          returned: always
          type: str
          sample: NVIDIA H100 80GB HBM3
        product_label:
          description: RV(ansible_facts.cloudforge_gpu.product_name) normalised like the GPU operator's C(nvidia.com/gpu.product) label.
          returned: always
          type: str
          sample: NVIDIA-H100-80GB-HBM3
        driver_version:
          description: NVIDIA driver version (from nvidia-smi, else from the loaded kernel module); null when no driver is loaded.
          returned: always
          type: str
          sample: 535.129.03
        kernel_module_version:
          description: Version of the loaded C(nvidia) kernel module; null when it is not loaded.
          returned: always
          type: str
          sample: 535.129.03
        nvidia_smi:
          description: How C(nvidia-smi) went.
          returned: always
          type: str
          choices: [ok, failed, not found]
          sample: ok
        mig_capable:
          description: Whether at least one GPU supports MIG.
          returned: always
          type: bool
          sample: true
        mig_enabled:
          description: Whether MIG mode is enabled on at least one GPU.
          returned: always
          type: bool
          sample: false
        mig_device_count:
          description: Number of MIG devices on all GPUs.
          returned: always
          type: int
          sample: 0
        gpus:
          description:
            - One entry per GPU, in nvidia-smi index order (PCI bus order when the driver is not available).
            - Fields the sources did not provide are null.
          returned: always
          type: list
          elements: dict
          contains:
            index:
              description: nvidia-smi index (position in PCI bus order without the driver).
              type: int
            pci_address:
              description: PCI address, C(domain:bus:device.function), lower case.
              type: str
            vendor_id:
              description: PCI vendor id, always C(10de).
              type: str
            device_id:
              description: PCI device id, four hex digits.
              type: str
            pci_name:
              description: Device name from lspci, when lspci was the PCI source.
              type: str
            kernel_driver:
              description: Kernel driver bound to the device (C(nvidia), C(nouveau), C(vfio-pci)); null when none is.
              type: str
            numa_node:
              description: NUMA node of the device; null without NUMA affinity.
              type: int
            product_name:
              description: Product name as the driver reports it, or from the device id.
              type: str
            product_label:
              description: The product name normalised like the C(nvidia.com/gpu.product) label.
              type: str
            memory_mib:
              description: Total memory in MiB, from nvidia-smi.
              type: int
            uuid:
              description: GPU UUID, from nvidia-smi.
              type: str
            driver_version:
              description: NVIDIA driver version.
              type: str
            compute_capability:
              description: CUDA compute capability, from nvidia-smi.
              type: str
            mig_capable:
              description: Whether the GPU supports MIG; null when unknown.
              type: bool
            mig_enabled:
              description: Whether MIG mode is enabled.
              type: bool
            mig_devices:
              description: MIG devices from C(nvidia-smi -L), each with C(index), C(profile) and C(uuid).
              type: list
              elements: dict
            sources:
              description: Where the entry's data came from (C(sysfs), C(lspci), C(nvidia-smi)).
              type: list
              elements: str
          sample:
            - index: 0
              pci_address: "0000:07:00.0"
              vendor_id: 10de
              device_id: 20b2
              pci_name: null
              kernel_driver: nvidia
              numa_node: 3
              product_name: NVIDIA A100-SXM4-80GB
              product_label: NVIDIA-A100-SXM4-80GB
              memory_mib: 81920
              uuid: GPU-852a5fba-444a-4f42-b37f-5722051e2670
              driver_version: 550.54.15
              compute_capability: "8.0"
              mig_capable: true
              mig_enabled: true
              mig_devices: [{index: 0, profile: 3g.40gb, uuid: MIG-a9b7e3ea-1d1d-584f-b9db-434b610b1631}]
              sources: [sysfs, nvidia-smi]
        node_labels:
          description:
            - Labels for the Kubernetes node. Without a GPU only C(cloudforge.io/gpu=false).
            - C(nvidia.com/gpu.product) is left out when the product is unknown.
          returned: always
          type: dict
          sample:
            cloudforge.io/gpu: "true"
            nvidia.com/gpu.present: "true"
            nvidia.com/gpu.count: "8"
            nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3
            nvidia.com/mig.capable: "true"
        node_taints:
          description: Taints for the Kubernetes node (key, value, effect); empty without a GPU.
          returned: always
          type: list
          elements: dict
          sample: [{key: nvidia.com/gpu, value: present, effect: NoSchedule}]
        k3s_node_labels:
          description: RV(ansible_facts.cloudforge_gpu.node_labels) as C(key=value) strings for the k3s C(node-label) setting.
          returned: always
          type: list
          elements: str
          sample: [cloudforge.io/gpu=true, nvidia.com/gpu.count=8, nvidia.com/gpu.present=true]
        k3s_node_taints:
          description: RV(ansible_facts.cloudforge_gpu.node_taints) as C(key=value:effect) strings for the k3s C(node-taint) setting.
          returned: always
          type: list
          elements: str
          sample: [nvidia.com/gpu=present:NoSchedule]
        sources:
          description: The sources that were read (C(sysfs) or C(lspci), and C(nvidia-smi)).
          returned: always
          type: list
          elements: str
          sample: [sysfs, nvidia-smi]
        warnings:
          description: Everything that looked wrong (malformed or partial output, failing tools, GPUs the driver does not report).
          returned: always
          type: list
          elements: str
          sample: ["nvidia-smi --query-gpu cannot talk to the NVIDIA driver (rc=9): ..."]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudforge.platform.plugins.module_utils.hosts import gpu_facts

NVIDIA_SMI_DIRS = ["/usr/local/nvidia/bin", "/usr/bin"]


def main():
    module = AnsibleModule(
        argument_spec={
            "sysfs_root": {"type": "path", "default": "/sys"},
            "nvidia_smi_path": {"type": "path"},
            "lspci_path": {"type": "path"},
        },
        supports_check_mode=True,
    )
    params = module.params
    nvidia_smi = params["nvidia_smi_path"] or module.get_bin_path("nvidia-smi", opt_dirs=NVIDIA_SMI_DIRS)
    lspci = params["lspci_path"] or module.get_bin_path("lspci", opt_dirs=["/usr/sbin", "/sbin"])

    def run(argv):
        return module.run_command(argv, environ_update={"LC_ALL": "C"})

    facts = gpu_facts.gather(run, sysfs_root=params["sysfs_root"], nvidia_smi_path=nvidia_smi, lspci_path=lspci)
    for warning in facts["warnings"]:
        module.warn(warning)
    module.exit_json(changed=False, ansible_facts={"cloudforge_gpu": facts})


if __name__ == "__main__":
    main()
