# The plot of harness/bench/compare.sh: three panels side by side, one line per server,
# in the same colour in every panel, and one legend under them:
#   connections/s against clients (conn mode); round-trip latency against clients, p50
#   solid and p99 dashed; MB/s of verified echo against connections (stream mode).
# Called as:
#   gnuplot -e "data_dir='DIR'; out_file='FILE.svg'; servers=N; first=1; last=64; machine='TEXT'" compare.gp
# with DIR holding conn.dat, latency.dat and stream.dat (first line: the column titles).

set terminal svg size 1260,500 dynamic enhanced font "Liberation Sans,12" background rgb "white"
set output out_file
set datafile missing "?"

array colour[8] = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#17becf", "#8c564b", "#7f7f7f"]
pick(i) = colour[(i - 1) % 8 + 1]
panel_width = 1.0 / 3
legend_height = 0.12

set multiplot title sprintf("Server designs compared: %s", machine) font ",12"
set logscale x 2
set logscale y 10
set xrange [first / 1.4 : last * 1.4]
set xtics ("1" 1, "2" 2, "4" 4, "8" 8, "16" 16, "32" 32, "64" 64, "128" 128, "256" 256, "512" 512)
set grid xtics ytics lc rgb "#dddddd"
set border lc rgb "#555555"
set tmargin 4
unset key
set size panel_width, 1 - legend_height

set origin 0, legend_height
set title "connections per second (conn mode)"
set xlabel "clients at once"
set ylabel "connections/s"
plot for [i=2:servers+1] data_dir."/conn.dat" using 1:i with linespoints lw 2 pt 7 ps 0.6 \
     lc rgb pick(i - 1)

set origin panel_width, legend_height
set title "round-trip latency: p50 solid, p99 dashed"
set ylabel "µs"
plot for [i=1:servers] data_dir."/latency.dat" using 1:(column(2*i)) with linespoints lw 2 pt 7 ps 0.6 \
         lc rgb pick(i), \
     for [i=1:servers] data_dir."/latency.dat" using 1:(column(2*i+1)) with linespoints lw 1 dt 2 \
         pt 6 ps 0.5 lc rgb pick(i)

set origin 2 * panel_width, legend_height
set title "throughput (stream mode)"
set xlabel "connections at once"
set ylabel "MB/s of echo, verified"
plot for [i=2:servers+1] data_dir."/stream.dat" using 1:i with linespoints lw 2 pt 7 ps 0.6 \
     lc rgb pick(i - 1)

# The legend: a panel of its own, the width of the picture, whose points all fall
# outside its range, so only the key shows.
set origin 0, 0
set size 1, legend_height
unset title
unset xlabel
unset ylabel
unset tics
unset border
unset grid
unset logscale
set xrange [0 : 1]
set yrange [0 : 1]
set tmargin 0
set bmargin 0
set key center center horizontal maxrows 1 samplen 2 font ",11" noautotitle
plot for [i=2:servers+1] data_dir."/conn.dat" using (-1):(-1) with linespoints lw 2 pt 7 ps 0.6 \
     lc rgb pick(i - 1) title columnheader(i)

unset multiplot
