FROM busybox
RUN <<EOT
set -e
echo "hello from $HOME"
EOT
RUN <<-"SCRIPT" cat > /greeting
	indented ${NOT_EXPANDED}
		twice
	SCRIPT
COPY <<one.txt <<'two.txt' /files/
first $A
one.txt
second $A
two.txt
RUN echo after heredocs
