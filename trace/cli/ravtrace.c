/* ravtrace.c - the `ravtrace` command line tool: look into .ravtrace files
 * without the viewer, from scripts and CI.
 *
 * This file is the dispatcher: the table of subcommands (each lives in its
 * own cmd-NAME.c, see cli.h), the overall help and --version.
 *
 * Exit codes: 0 success, 1 the trace is invalid or could not be read (or
 * the output could not be written), 2 usage error.
 */
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"

extern const cli_command cli_cmd_info, cli_cmd_dump, cli_cmd_stats, cli_cmd_sites, cli_cmd_validate, cli_cmd_export,
    cli_cmd_list, cli_cmd_attach;

/* In the order `ravtrace --help` lists them. */
static const cli_command *const commands[] = {
    &cli_cmd_info,   &cli_cmd_dump, &cli_cmd_stats,  &cli_cmd_sites,
    &cli_cmd_validate, &cli_cmd_export, &cli_cmd_list, &cli_cmd_attach,
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const cli_command *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(name, commands[i]->name) == 0)
			return commands[i];
	return NULL;
}

/* "info, dump, stats, ..." */
static const char *command_list(void)
{
	static char list[512];
	size_t n = 0;
	for (size_t i = 0; i < NCOMMANDS && n < sizeof list; i++)
		n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", commands[i]->name);
	return list;
}

static int main_help(void)
{
	fputs("usage: ravtrace COMMAND [OPTIONS] FILE\n"
	      "\n"
	      "Inspect ravioli heap traces (.ravtrace files recorded with RAVIOLI_TRACE=FILE), and\n"
	      "attach to running programs to record them (list, attach).\n"
	      "\n"
	      "Commands:\n",
	      stdout);
	for (size_t i = 0; i < NCOMMANDS; i++)
		printf("  %-9s %s\n", commands[i]->name, commands[i]->summary);
	fputs("\n"
	      "'ravtrace COMMAND --help' describes each command's options; 'ravtrace --version'\n"
	      "prints the version.\n"
	      "Exit status: 0 success, 1 invalid or unreadable trace, 2 usage error.\n"
	      "Environment: RAVTRACE_MEMORY_MB (the memory an open trace may take),\n"
	      "RAVTRACE_KEYFRAME_MB and RAVTRACE_KEYFRAME_COST (seek speed against memory),\n"
	      "RAVTRACE_THREADS=1 (index on one thread): see ravtrace(1).\n",
	      stdout);
	return cli_finish_output(stdout, "the help");
}

static int run(const cli_command *c, int argc, char **argv)
{
	cli_subcmd = c->name;
	return c->run(argc, argv);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		cli_usage_error("no command given (%s)", command_list());
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		if (strcmp(cmd, "help") == 0 && argc > 2) {
			const cli_command *c = find(argv[2]);
			if (!c)
				cli_usage_error("no command named '%s'", argv[2]);
			char *args[] = {argv[2], (char *)"--help", NULL};
			return run(c, 2, args);
		}
		return main_help();
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("ravtrace %s\n", RAV_VERSION);
		return cli_finish_output(stdout, "the version");
	}
	const cli_command *c = find(cmd);
	if (!c) {
		/* the usual slips: a file where the command goes, a command in capitals */
		struct stat st;
		if (cmd[0] != '-' && stat(cmd, &st) == 0)
			cli_usage_error("'%s' is a file, not a command: say what to do with it first, e.g. "
			                "'ravtrace info %s' (the commands are %s)",
			                cmd, cmd, command_list());
		/* an option before the command ("ravtrace --json info x") */
		if (cmd[0] == '-') {
			for (int k = 2; k < argc; k++)
				if (find(argv[k]))
					cli_usage_error("'%s' goes after the command: 'ravtrace %s %s ...'", cmd, argv[k],
					                cmd);
			cli_usage_error("unknown option '%s' (before a command ravtrace takes --help and "
			                "--version; the commands are %s)",
			                cmd, command_list());
		}
		for (size_t i = 0; i < NCOMMANDS; i++)
			if (strcasecmp(cmd, commands[i]->name) == 0)
				cli_usage_error("unknown command '%s' (did you mean '%s'?)", cmd, commands[i]->name);
		cli_usage_error("unknown command '%s' (the commands are %s)", cmd, command_list());
	}
	return run(c, argc - 1, argv + 1);
}
