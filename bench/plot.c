/* SPDX-License-Identifier: MIT */
/*
 * mapletree-bench --plot DIR: the figures as gnuplot data files and scripts,
 * rendered by running gnuplot as a separate program (nothing is linked).
 *
 *   ns_<layout>       ns/op per workload, grouped by workload, one bar per
 *                     structure, min..max of the runs as error bars (the
 *                     largest n of the run)
 *   scaling_<layout>  ns/op against n (log x) for load_hit, rand_store,
 *                     rand_erase and seq_insert; needs two sizes or more
 *   readers           reader Mops/s against the number of readers, alone
 *                     and beside one writer
 *
 * Every chart is <name>.dat + <name>.gp; plot.gp renders them all, so
 * "cd DIR && gnuplot plot.gp" redoes the charts without re-running.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define MAX_NAMES	32
#define MAX_CHARTS	16

/* Distinct strings (or sizes) in the order they are first met. */
struct names {
	const char *v[MAX_NAMES];
	unsigned int nr;
};

struct sizes {
	unsigned long v[MAX_NAMES];
	unsigned int nr;
};

struct plot {
	const char *dir;
	const struct plot_figure *f;
	size_t nf;
	/* Every structure of the run: each keeps one colour throughout. */
	struct names structures;
	char charts[MAX_CHARTS][48];
	unsigned int nr_charts;
	bool failed;
};

/* Scaling panels, in this order. */
static const char *const scaling_workloads[] = {
	"load_hit", "rand_store", "rand_erase", "seq_insert",
};
#define NR_SCALING \
	(sizeof(scaling_workloads) / sizeof(scaling_workloads[0]))

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static int names_index(const struct names *s, const char *v)
{
	for (unsigned int k = 0; k < s->nr; k++)
		if (same(s->v[k], v))
			return (int)k;
	return -1;
}

static void names_add(struct names *s, const char *v)
{
	if (names_index(s, v) < 0 && s->nr < MAX_NAMES)
		s->v[s->nr++] = v;
}

/* Sizes are kept ascending: they are the x axis of the scaling chart. */
static void sizes_add(struct sizes *s, unsigned long n)
{
	unsigned int k = 0;

	while (k < s->nr && s->v[k] < n)
		k++;
	if ((k < s->nr && s->v[k] == n) || s->nr == MAX_NAMES)
		return;
	memmove(&s->v[k + 1], &s->v[k], (s->nr - k) * sizeof(s->v[0]));
	s->v[k] = n;
	s->nr++;
}

static bool is_readers(const struct plot_figure *f)
{
	return !strcmp(f->workload, "readers");
}

static const struct plot_figure *find(const struct plot *p,
				      const char *workload,
				      const char *variant, const char *layout,
				      const char *structure, unsigned long n,
				      unsigned int readers)
{
	for (size_t k = 0; k < p->nf; k++) {
		const struct plot_figure *f = &p->f[k];

		if (!strcmp(f->workload, workload) &&
		    same(f->variant, variant) && !strcmp(f->layout, layout) &&
		    !strcmp(f->structure, structure) && f->n == n &&
		    f->readers == readers)
			return f;
	}
	return NULL;
}

/* Colour of a structure: its linetype, defined in style.gp. */
static int colour(const struct plot *p, const char *structure)
{
	return names_index(&p->structures, structure) % 8 + 1;
}

/* ---- Files -------------------------------------------------------------- */

static void plot_error(struct plot *p, const char *fmt, ...)
	__attribute__((__format__(__printf__, 2, 3)));

static void plot_error(struct plot *p, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "plot: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	p->failed = true;
}

static FILE *plot_open(struct plot *p, const char *name)
{
	char path[4096];
	FILE *fp;

	if (snprintf(path, sizeof(path), "%s/%s", p->dir, name) >=
	    (int)sizeof(path)) {
		plot_error(p, "path too long: %s/%s", p->dir, name);
		return NULL;
	}
	fp = fopen(path, "w");
	if (!fp)
		plot_error(p, "cannot write %s: %s", path, strerror(errno));
	return fp;
}

static void plot_close(struct plot *p, FILE *fp, const char *name)
{
	/* A full disk shows up as a write error only here. */
	bool bad = ferror(fp);

	if (fclose(fp) || bad)
		plot_error(p, "error writing %s/%s", p->dir, name);
}

/* mkdir -p: the charts usually go to a directory that is not there yet. */
static int make_dirs(const char *dir)
{
	char *path, *c;
	int ret = 0;

	if (!*dir) {
		errno = ENOENT;
		return -1;
	}
	path = strdup(dir);
	if (!path)
		return -1;
	for (c = path + 1; ; c++) {
		char keep = *c;

		if (keep && keep != '/')
			continue;
		*c = '\0';
		if (mkdir(path, 0777) && errno != EEXIST) {
			ret = -1;
			break;
		}
		*c = keep;
		if (!keep)
			break;
	}
	free(path);
	return ret;
}

static void add_chart(struct plot *p, const char *name)
{
	if (p->nr_charts < MAX_CHARTS)
		snprintf(p->charts[p->nr_charts++], sizeof(p->charts[0]), "%s",
			 name);
}

/* One data row's cell: median, min, max, or gnuplot's NaN when missing. */
static void put_triple(FILE *fp, const struct plot_figure *f)
{
	if (f)
		fprintf(fp, " %.4f %.4f %.4f", f->median, f->min, f->max);
	else
		fprintf(fp, " NaN NaN NaN");
}

/*
 * The script head shared by every chart: the terminal is chosen by "fmt"
 * (set by plot.gp), so each chart script also runs on its own.
 */
static void put_head(FILE *fp, const char *name, int width, int height)
{
	fprintf(fp, "# Written by mapletree-bench --plot. Run from this "
		"directory:\n#   gnuplot %s.gp   (-e 'fmt=\"png\"' for PNG)\n",
		name);
	fprintf(fp, "reset\nif (!exists(\"fmt\")) { fmt = \"svg\" }\n"
		"out = \"%s\"\nwidth = %d\nheight = %d\nload \"style.gp\"\n",
		name, width, height);
}

static void write_style(struct plot *p)
{
	FILE *fp = plot_open(p, "style.gp");

	if (!fp)
		return;
	fprintf(fp,
"# Terminal and colours shared by the charts; expects fmt, out, width,\n"
"# height. noenhanced: workload names contain underscores.\n"
"if (fmt eq \"png\") {\n"
"\tset terminal pngcairo size width, height noenhanced font \"sans,10\"\n"
"} else {\n"
"\tset terminal svg size width, height noenhanced font \"sans,11\" "
"background \"white\"\n"
"}\n"
"set output out . \".\" . fmt\n"
"# One colour per structure, the same in every chart (Okabe-Ito).\n"
"set linetype 1 lc rgb \"#0072B2\" lw 2 pt 7 ps 0.8\n"
"set linetype 2 lc rgb \"#56B4E9\" lw 2 pt 5 ps 0.8\n"
"set linetype 3 lc rgb \"#D55E00\" lw 2 pt 9 ps 0.8\n"
"set linetype 4 lc rgb \"#009E73\" lw 2 pt 11 ps 0.8\n"
"set linetype 5 lc rgb \"#E69F00\" lw 2 pt 13 ps 0.8\n"
"set linetype 6 lc rgb \"#CC79A7\" lw 2 pt 7 ps 0.8\n"
"set linetype 7 lc rgb \"#000000\" lw 2 pt 5 ps 0.8\n"
"set linetype 8 lc rgb \"#F0E442\" lw 2 pt 9 ps 0.8\n"
"set grid ytics lc rgb \"#dddddd\" lt 1 lw 1\n"
"set border 3\nset tics nomirror\n");
	plot_close(p, fp, "style.gp");
}

/* ---- ns/op per workload ------------------------------------------------- */

static void write_ns(struct plot *p, const char *layout)
{
	struct names workloads = { .nr = 0 }, structs = { .nr = 0 };
	unsigned long n = 0;
	char name[48], file[64];
	FILE *fp;

	/* The largest size only: one bar per structure and workload. */
	for (size_t k = 0; k < p->nf; k++)
		if (!is_readers(&p->f[k]) && !strcmp(p->f[k].layout, layout) &&
		    p->f[k].n > n)
			n = p->f[k].n;
	for (size_t k = 0; k < p->nf; k++) {
		const struct plot_figure *f = &p->f[k];

		if (is_readers(f) || strcmp(f->layout, layout) || f->n != n)
			continue;
		names_add(&workloads, f->workload);
		names_add(&structs, f->structure);
	}
	if (!workloads.nr)
		return;
	snprintf(name, sizeof(name), "ns_%s", layout);

	snprintf(file, sizeof(file), "%s.dat", name);
	fp = plot_open(p, file);
	if (!fp)
		return;
	fprintf(fp, "# ns/op, %s layout, n=%lu: median min max per structure"
		"\n# workload", layout, n);
	for (unsigned int s = 0; s < structs.nr; s++)
		fprintf(fp, " %s %s_min %s_max", structs.v[s], structs.v[s],
			structs.v[s]);
	fprintf(fp, "\n");
	for (unsigned int w = 0; w < workloads.nr; w++) {
		fprintf(fp, "\"%s\"", workloads.v[w]);
		for (unsigned int s = 0; s < structs.nr; s++)
			put_triple(fp, find(p, workloads.v[w], NULL, layout,
					    structs.v[s], n, 0));
		fprintf(fp, "\n");
	}
	plot_close(p, fp, file);

	snprintf(file, sizeof(file), "%s.gp", name);
	fp = plot_open(p, file);
	if (!fp)
		return;
	put_head(fp, name, 1000, 520);
	fprintf(fp,
"set title \"ns per operation, %s layout, n = %lu (median of the runs; "
"error bars: min..max; log scale)\"\n"
"set ylabel \"ns/op\"\n"
"set logscale y\n"
"set yrange [5:*]\n"
"set style data histogram\n"
"set style histogram errorbars gap 1 lw 1\n"
"set style fill solid 0.85 border -1\n"
"set boxwidth 0.9\n"
"set xtics rotate by -20 scale 0\n"
"set key top left horizontal\n"
"set grid noxtics\n", layout, n);
	fprintf(fp, "plot");
	for (unsigned int s = 0; s < structs.nr; s++)
		fprintf(fp, "%s \\\n     \"%s.dat\" using %u:%u:%u%s title "
			"\"%s\" lt %d", s ? "," : "", name, 2 + 3 * s,
			3 + 3 * s, 4 + 3 * s, s ? "" : ":xtic(1)",
			structs.v[s], colour(p, structs.v[s]));
	fprintf(fp, "\nunset output\n");
	plot_close(p, fp, file);
	add_chart(p, name);
}

/* ---- ns/op against n ---------------------------------------------------- */

static void write_scaling(struct plot *p, const char *layout)
{
	struct names structs = { .nr = 0 };
	struct sizes sizes = { .nr = 0 };
	const char *panel[NR_SCALING];
	unsigned int nr_panels = 0;
	char name[48], file[64];
	FILE *fp;

	for (size_t k = 0; k < p->nf; k++) {
		const struct plot_figure *f = &p->f[k];

		if (is_readers(f) || strcmp(f->layout, layout))
			continue;
		sizes_add(&sizes, f->n);
		names_add(&structs, f->structure);
	}
	for (size_t w = 0; w < NR_SCALING; w++) {
		for (size_t k = 0; k < p->nf; k++) {
			if (!strcmp(p->f[k].workload, scaling_workloads[w]) &&
			    !strcmp(p->f[k].layout, layout)) {
				panel[nr_panels++] = scaling_workloads[w];
				break;
			}
		}
	}
	if (sizes.nr < 2 || !nr_panels)
		return;
	snprintf(name, sizeof(name), "scaling_%s", layout);

	/* One data block per panel, for gnuplot's "index". */
	snprintf(file, sizeof(file), "%s.dat", name);
	fp = plot_open(p, file);
	if (!fp)
		return;
	for (unsigned int w = 0; w < nr_panels; w++) {
		fprintf(fp, "%s# index %u: %s, %s layout, ns/op\n# n",
			w ? "\n\n" : "", w, panel[w], layout);
		for (unsigned int s = 0; s < structs.nr; s++)
			fprintf(fp, " %s %s_min %s_max", structs.v[s],
				structs.v[s], structs.v[s]);
		fprintf(fp, "\n");
		for (unsigned int z = 0; z < sizes.nr; z++) {
			fprintf(fp, "%lu", sizes.v[z]);
			for (unsigned int s = 0; s < structs.nr; s++)
				put_triple(fp, find(p, panel[w], NULL, layout,
						    structs.v[s], sizes.v[z],
						    0));
			fprintf(fp, "\n");
		}
	}
	plot_close(p, fp, file);

	snprintf(file, sizeof(file), "%s.gp", name);
	fp = plot_open(p, file);
	if (!fp)
		return;
	put_head(fp, name, 1000, 720);
	fprintf(fp,
"set logscale x\n"
"set xrange [%lu * 0.7:%lu * 1.4]\n"
"set xtics (",
		sizes.v[0], sizes.v[sizes.nr - 1]);
	for (unsigned int z = 0; z < sizes.nr; z++)
		fprintf(fp, "%s\"%lu\" %lu", z ? ", " : "", sizes.v[z],
			sizes.v[z]);
	fprintf(fp, ")\n"
"set yrange [0:*]\n"
"# Headroom above the data for the key.\n"
"set offsets 0, 0, graph 0.35, 0\n"
"set xlabel \"n (ranges in the structure)\"\n"
"set ylabel \"ns/op\"\n"
"set key top left\n"
"set multiplot layout 2,2 title \"ns per operation against n, %s layout "
"(median; error bars: min..max)\"\n", layout);
	for (unsigned int w = 0; w < nr_panels; w++) {
		bool first = true;

		fprintf(fp, "set title \"%s\"\nplot", panel[w]);
		for (unsigned int s = 0; s < structs.nr; s++) {
			bool any = false;

			/* Not every structure does every workload. */
			for (unsigned int z = 0; z < sizes.nr; z++)
				any |= !!find(p, panel[w], NULL, layout,
					      structs.v[s], sizes.v[z], 0);
			if (!any)
				continue;
			fprintf(fp, "%s \\\n     \"%s.dat\" index %u using "
				"1:%u:%u:%u with yerrorlines title \"%s\" "
				"lt %d", first ? "" : ",", name, w,
				2 + 3 * s, 3 + 3 * s, 4 + 3 * s, structs.v[s],
				colour(p, structs.v[s]));
			first = false;
		}
		fprintf(fp, "\n");
	}
	fprintf(fp, "unset multiplot\nunset output\n");
	plot_close(p, fp, file);
	add_chart(p, name);
}

/* ---- Readers ------------------------------------------------------------ */

static void write_readers(struct plot *p)
{
	const struct plot_figure *first = NULL;
	struct names structs = { .nr = 0 };
	struct sizes counts = { .nr = 0 };
	static const char *const variants[] = { "alone", "writer" };
	const char *name = "readers";
	FILE *fp;

	for (size_t k = 0; k < p->nf; k++) {
		const struct plot_figure *f = &p->f[k];

		if (!is_readers(f))
			continue;
		/* The readers run uses one layout and one size. */
		if (!first)
			first = f;
		if (strcmp(f->layout, first->layout) || f->n != first->n)
			continue;
		names_add(&structs, f->structure);
		sizes_add(&counts, f->readers);
	}
	if (!first)
		return;

	fp = plot_open(p, "readers.dat");
	if (!fp)
		return;
	fprintf(fp, "# reader Mops/s (all readers together), %s layout, "
		"n=%lu: median min max\n# readers", first->layout, first->n);
	for (unsigned int s = 0; s < structs.nr; s++)
		for (unsigned int v = 0; v < 2; v++)
			fprintf(fp, " %s_%s %s_%s_min %s_%s_max", structs.v[s],
				variants[v], structs.v[s], variants[v],
				structs.v[s], variants[v]);
	fprintf(fp, "\n");
	for (unsigned int c = 0; c < counts.nr; c++) {
		fprintf(fp, "%lu", counts.v[c]);
		for (unsigned int s = 0; s < structs.nr; s++)
			for (unsigned int v = 0; v < 2; v++)
				put_triple(fp, find(p, "readers", variants[v],
						    first->layout,
						    structs.v[s], first->n,
						    (unsigned int)counts.v[c]));
		fprintf(fp, "\n");
	}
	plot_close(p, fp, "readers.dat");

	fp = plot_open(p, "readers.gp");
	if (!fp)
		return;
	put_head(fp, name, 900, 520);
	fprintf(fp,
"set title \"Reader throughput, %s layout, n = %lu (random hit loads; "
"without RCU readers a structure\\nis read under a pthread rwlock; median, "
"error bars: min..max)\"\n"
"set xlabel \"reader threads\"\n"
"set ylabel \"Mops/s, all readers together\"\n"
"set logscale x 2\n"
"set xrange [%lu * 0.8:%lu * 1.25]\n"
"set xtics (",
		first->layout, first->n, counts.v[0], counts.v[counts.nr - 1]);
	for (unsigned int c = 0; c < counts.nr; c++)
		fprintf(fp, "%s\"%lu\" %lu", c ? ", " : "", counts.v[c],
			counts.v[c]);
	fprintf(fp, ")\nset yrange [0:*]\nset offsets 0, 0, graph 0.3, 0\n"
		"set key top left\nplot");
	for (unsigned int s = 0; s < structs.nr; s++)
		for (unsigned int v = 0; v < 2; v++)
			fprintf(fp, "%s \\\n     \"readers.dat\" using "
				"1:%u:%u:%u with yerrorlines title \"%s, %s\" "
				"lt %d dt %d",
				s || v ? "," : "", 2 + 6 * s + 3 * v,
				3 + 6 * s + 3 * v, 4 + 6 * s + 3 * v,
				structs.v[s], v ? "beside one writer" :
				"readers alone", colour(p, structs.v[s]),
				v ? 2 : 1);
	fprintf(fp, "\nunset output\n");
	plot_close(p, fp, "readers.gp");
	add_chart(p, name);
}

/* ---- Rendering ---------------------------------------------------------- */

static void write_driver(struct plot *p)
{
	FILE *fp = plot_open(p, "plot.gp");

	if (!fp)
		return;
	fprintf(fp, "# Renders every chart: cd to this directory, then "
		"gnuplot plot.gp\ncharts = \"");
	for (unsigned int c = 0; c < p->nr_charts; c++)
		fprintf(fp, "%s%s", c ? " " : "", p->charts[c]);
	fprintf(fp, "\"\n"
"png = strstrt(\" \" . GPVAL_TERMINALS . \" \", \" pngcairo \") > 0\n"
"if (!png) {\n"
"\tprint \"plot: this gnuplot has no pngcairo terminal; PNG charts skipped\"\n"
"}\n"
"do for [c in charts] {\n"
"\tfmt = \"svg\"\n"
"\tload c . \".gp\"\n"
"\tif (png) {\n"
"\t\tfmt = \"png\"\n"
"\t\tload c . \".gp\"\n"
"\t}\n"
"}\n");
	plot_close(p, fp, "plot.gp");
}

/* Is there an executable gnuplot on PATH? Checked so that its absence gets
 * a clear message rather than a failed exec in a child. */
static bool have_program(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (!path || !*path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");

		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, path,
			     prog) < (int)sizeof(buf) &&
		    !access(buf, X_OK))
			return true;
		path += len;
		if (*path == ':')
			path++;
	}
	return false;
}

/* Run gnuplot on plot.gp inside dir, without a shell (dir is not quoted
 * for one); a gnuplot string in single quotes only needs '' for '. */
static int run_gnuplot(struct plot *p)
{
	size_t len = strlen(p->dir);
	char *cmd = malloc(2 * len + 64), *c;
	int status;
	pid_t pid;

	if (!cmd) {
		plot_error(p, "out of memory");
		return -1;
	}
	c = cmd + sprintf(cmd, "cd '");
	for (size_t k = 0; k < len; k++) {
		if (p->dir[k] == '\'')
			*c++ = '\'';
		*c++ = p->dir[k];
	}
	sprintf(c, "'; load 'plot.gp'");

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		plot_error(p, "fork: %s", strerror(errno));
		free(cmd);
		return -1;
	}
	if (!pid) {
		execlp("gnuplot", "gnuplot", "-e", cmd, (char *)NULL);
		fprintf(stderr, "plot: cannot run gnuplot: %s\n",
			strerror(errno));
		_exit(127);
	}
	free(cmd);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			plot_error(p, "waitpid: %s", strerror(errno));
			return -1;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		plot_error(p, "gnuplot failed (%s %d); the scripts are in %s",
			   WIFEXITED(status) ? "exit status" : "signal",
			   WIFEXITED(status) ? WEXITSTATUS(status) :
			   WTERMSIG(status), p->dir);
		return -1;
	}
	return 0;
}

int plot_write(const char *dir, const struct plot_figure *f, size_t count)
{
	struct plot p = { .dir = dir, .f = f, .nf = count };
	struct names layouts = { .nr = 0 };

	if (make_dirs(dir)) {
		fprintf(stderr, "plot: cannot create %s: %s\n", dir,
			strerror(errno));
		return -1;
	}
	for (size_t k = 0; k < count; k++) {
		names_add(&p.structures, f[k].structure);
		if (!is_readers(&f[k]))
			names_add(&layouts, f[k].layout);
	}

	write_style(&p);
	for (unsigned int l = 0; l < layouts.nr; l++)
		write_ns(&p, layouts.v[l]);
	for (unsigned int l = 0; l < layouts.nr; l++)
		write_scaling(&p, layouts.v[l]);
	write_readers(&p);
	write_driver(&p);
	if (p.failed)
		return -1;
	if (!p.nr_charts) {
		fprintf(stderr, "plot: no figures to plot\n");
		return 0;
	}
	if (!have_program("gnuplot")) {
		fprintf(stderr, "plot: gnuplot not found on PATH (Debian: "
			"apt-get install gnuplot-nox); the data files and "
			"scripts are in %s, render them with: cd %s && "
			"gnuplot plot.gp\n", dir, dir);
		return -1;
	}
	if (run_gnuplot(&p))
		return -1;
	for (unsigned int c = 0; c < p.nr_charts; c++)
		fprintf(stderr, "plot: %s/%s.svg\n", dir, p.charts[c]);
	return 0;
}
