# Written by mapletree-bench --plot. Run from this directory:
#   gnuplot readers.gp   (-e 'fmt="png"' for PNG)
reset
if (!exists("fmt")) { fmt = "svg" }
out = "readers"
width = 900
height = 520
load "style.gp"
set title "Reader throughput, gapped layout, n = 1000000 (random hit loads; without RCU readers a structure\nis read under a pthread rwlock; median, error bars: min..max)"
set xlabel "reader threads"
set ylabel "Mops/s, all readers together"
set logscale x 2
set xrange [1 * 0.8:4 * 1.25]
set xtics ("1" 1, "2" 2, "4" 4)
set yrange [0:*]
set offsets 0, 0, graph 0.3, 0
set key top left
plot \
     "readers.dat" using 1:2:3:4 with yerrorlines title "maple-rcu, readers alone" lt 1 dt 1, \
     "readers.dat" using 1:5:6:7 with yerrorlines title "maple-rcu, beside one writer" lt 1 dt 2, \
     "readers.dat" using 1:8:9:10 with yerrorlines title "rbtree, readers alone" lt 3 dt 1, \
     "readers.dat" using 1:11:12:13 with yerrorlines title "rbtree, beside one writer" lt 3 dt 2
unset output
