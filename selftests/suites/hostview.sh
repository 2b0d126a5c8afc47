#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hostview: the host and the guest see the same bytes. hostview.host-pre
# makes files on the host that hostview_test checks in the guest; the
# guest writes files hostview.host-post checks on the host after poweroff.
# vfs: timeout=600
. /suites/lib.sh
. /suites/testbin.inc

suite_begin
run_binary hostview_test 400
# what the guest wrote must be on the host even before the final umount
sync
kernel_log_check hostview_kernel_log_clean
suite_end
