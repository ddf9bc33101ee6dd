/* SPDX-License-Identifier: MIT */
/* Watchdog: the tcpip thread must keep making progress. */
#pragma once

int watchdog_start(unsigned limit_ms);
