# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
