/* ravtrace-main.h - the declaration of trace/cli/ravtrace.c's main() as
 * ravtrace-batch links it (compiled with -Dmain=ravtrace_main and this
 * file included first, trace/cli/meson.build): one prototype, so the
 * renamed definition is not a function without one. */
#ifndef RAVTRACE_MAIN_H
#define RAVTRACE_MAIN_H
int ravtrace_main(int argc, char **argv);
#endif
