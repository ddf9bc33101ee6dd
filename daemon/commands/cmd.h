/* SPDX-License-Identifier: MIT */
/* The control command handlers, one file per area (daemon/commands/cmd_*.c);
 * daemon/commands.c's table maps the command names to them. Each has the
 * shape of commands_handler_fn (daemon/commands_priv.h). */
#pragma once

#include <stddef.h>

struct cJSON;
struct commands_ctx;

#define CMD_HANDLER(name)                                                                          \
    int name(struct commands_ctx *ctx, const struct cJSON *req, struct cJSON *resp, char *err,     \
             size_t errlen)

/* cmd_app.c */
CMD_HANDLER(cmd_app);
/* cmd_info.c: status, version */
CMD_HANDLER(cmd_info_status);
CMD_HANDLER(cmd_info_version);
/* cmd_stats.c */
CMD_HANDLER(cmd_stats);
/* cmd_link.c */
CMD_HANDLER(cmd_link);
/* cmd_ping.c */
CMD_HANDLER(cmd_ping);
/* cmd_igmp.c */
CMD_HANDLER(cmd_igmp);
/* cmd_events.c */
CMD_HANDLER(cmd_events);
int cmd_events_stop_all(void);
/* cmd_fault.c */
CMD_HANDLER(cmd_fault);
/* cmd_capture.c */
CMD_HANDLER(cmd_capture);
/* cmd_iperf3.c */
CMD_HANDLER(cmd_iperf3);
/* cmd_diag.c: sockets, leaks */
CMD_HANDLER(cmd_diag_sockets);
CMD_HANDLER(cmd_diag_leaks);
/* cmd_shutdown.c */
CMD_HANDLER(cmd_shutdown);
/* cmd_testhooks.c: the commands that need --test-hooks */
CMD_HANDLER(cmd_testhooks_wrong_free);
CMD_HANDLER(cmd_testhooks_stall);
CMD_HANDLER(cmd_testhooks_isr_post);
