{{/*
Names, labels and derived settings shared by the templates.
*/}}

{{/* The chart name (nameOverride wins). */}}
{{- define "roost.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The resource name prefix: fullnameOverride, else "<release>-<chart>" (just the release name
when it already contains the chart name). 52 characters at most, so that suffixes such as
"-headless" and StatefulSet pod names with a revision hash stay within 63.
*/}}
{{- define "roost.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "roost.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Kubernetes recommended labels, common to every resource. */}}
{{- define "roost.labels" -}}
helm.sh/chart: {{ include "roost.chart" . }}
app.kubernetes.io/name: {{ include "roost.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/part-of: roost
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of the Roost server pods. */}}
{{- define "roost.selectorLabels" -}}
app.kubernetes.io/name: {{ include "roost.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{/* Selector labels of the bundled Redis pod. */}}
{{- define "roost.redis.selectorLabels" -}}
app.kubernetes.io/name: {{ include "roost.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: redis
{{- end }}

{{- define "roost.headlessServiceName" -}}
{{- printf "%s-headless" (include "roost.fullname" .) }}
{{- end }}

{{- define "roost.redis.fullname" -}}
{{- printf "%s-redis" (include "roost.fullname" .) }}
{{- end }}

{{- define "roost.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "roost.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "roost.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* The TLS Secret the pods mount; empty when every pod generates a self-signed certificate. */}}
{{- define "roost.tlsSecretName" -}}
{{- if .Values.tls.secretName }}
{{- .Values.tls.secretName }}
{{- else if .Values.certManager.enabled }}
{{- printf "%s-tls" (include "roost.fullname" .) }}
{{- end }}
{{- end }}

{{/* The node-link TLS Secret the pods mount; empty without cluster mode or with plaintext links. */}}
{{- define "roost.linkTlsSecretName" -}}
{{- if include "roost.clustered" . }}
{{- if .Values.cluster.linkTls.secretName }}
{{- .Values.cluster.linkTls.secretName }}
{{- else if .Values.cluster.linkTls.certManager.enabled }}
{{- printf "%s-link-tls" (include "roost.fullname" .) }}
{{- end }}
{{- end }}
{{- end }}

{{/* How many nodes the cert-manager node-link certificate names. */}}
{{- define "roost.linkTlsNodes" -}}
{{- $cm := .Values.cluster.linkTls.certManager }}
{{- if $cm.maxReplicas }}
{{- $cm.maxReplicas }}
{{- else if .Values.autoscaling.enabled }}
{{- .Values.autoscaling.maxReplicas }}
{{- else }}
{{- .Values.replicaCount }}
{{- end }}
{{- end }}

{{/* The Secret holding the users file; empty when it lives on the mail volume. */}}
{{- define "roost.usersSecretName" -}}
{{- if .Values.users.existingSecret }}
{{- .Values.users.existingSecret }}
{{- else if .Values.users.inline }}
{{- printf "%s-users" (include "roost.fullname" .) }}
{{- end }}
{{- end }}

{{- define "roost.pvcName" -}}
{{- default (printf "%s-mail" (include "roost.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}

{{/* "true" when the nodes coordinate through Redis (cluster mode). */}}
{{- define "roost.clustered" -}}
{{- if or .Values.redis.url .Values.redis.existingSecret .Values.redis.bundled.enabled }}true{{ end }}
{{- end }}

{{/* The Redis URL written into roost.toml; empty when it comes from a Secret (ROOST_REDIS_URL). */}}
{{- define "roost.redisUrl" -}}
{{- if .Values.redis.existingSecret }}
{{- else if .Values.redis.bundled.enabled }}
{{- printf "redis://%s:6379" (include "roost.redis.fullname" .) }}
{{- else }}
{{- .Values.redis.url }}
{{- end }}
{{- end }}

{{/* A listener address for roost.toml: IPv6 addresses get brackets. */}}
{{- define "roost.listen" -}}
{{- $host := .host }}
{{- if contains ":" $host }}{{ $host = printf "[%s]" $host }}{{ end }}
{{- printf "%s:%d" $host (int .port) | toJson }}
{{- end }}

{{/* Seconds Kubernetes waits after the preStop hook starts before it kills the pod. */}}
{{- define "roost.terminationGracePeriodSeconds" -}}
{{- add (int .Values.preStopSleepSeconds) (int .Values.config.limits.drainTimeoutSecs) (int .Values.terminationGraceMarginSeconds) }}
{{- end }}

{{/*
Refuses combinations that would deploy but not work. Included by the StatefulSet, so every
render runs it.
*/}}
{{- define "roost.validate" -}}
{{- $clustered := include "roost.clustered" . }}
{{- if and (not $clustered) (or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled) }}
{{- fail "more than one Roost node needs Redis: set redis.url, redis.existingSecret or redis.bundled.enabled (or keep replicaCount: 1 without autoscaling)" }}
{{- end }}
{{- if and .Values.redis.bundled.enabled (or .Values.redis.url .Values.redis.existingSecret) }}
{{- fail "choose one Redis: redis.bundled.enabled, or an external one with redis.url / redis.existingSecret" }}
{{- end }}
{{- if and $clustered (not .Values.persistence.existingClaim) (not (has "ReadWriteMany" .Values.persistence.accessModes)) }}
{{- fail "cluster mode shares the mail volume between nodes: persistence.accessModes must include ReadWriteMany (or use persistence.existingClaim)" }}
{{- end }}
{{- if and .Values.users.existingSecret .Values.users.inline }}
{{- fail "set users.existingSecret or users.inline, not both" }}
{{- end }}
{{- if and .Values.config.auth.createDemoUser (or $clustered (include "roost.usersSecretName" .)) }}
{{- fail "config.auth.createDemoUser works only for a single node whose users file is on the mail volume" }}
{{- end }}
{{- if and .Values.certManager.enabled (or (not .Values.certManager.issuerRef.name) (not .Values.certManager.dnsNames)) }}
{{- fail "certManager.enabled needs certManager.issuerRef.name and certManager.dnsNames" }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail "autoscaling.minReplicas is greater than autoscaling.maxReplicas" }}
{{- end }}
{{- $redis := .Values.redis }}
{{- if and $redis.bundled.enabled (or $redis.caSecret $redis.username $redis.passwordSecret) }}
{{- fail "redis.caSecret, redis.username and redis.passwordSecret are for an external Redis; the bundled one has no TLS and no password (its NetworkPolicy admits only Roost pods)" }}
{{- end }}
{{- if and $redis.username (not $redis.passwordSecret) }}
{{- fail "redis.username needs redis.passwordSecret: an ACL user authenticates with a password" }}
{{- end }}
{{- if and $redis.url (contains "@" $redis.url) (or $redis.username $redis.passwordSecret) }}
{{- fail "redis.url has credentials and redis.username / redis.passwordSecret are set too: give them one way only" }}
{{- end }}
{{- if and $redis.caSecret $redis.url (not (hasPrefix "rediss://" $redis.url)) }}
{{- fail "redis.caSecret needs a rediss:// redis.url (TLS)" }}
{{- end }}
{{- if $clustered }}
{{- $link := .Values.cluster.linkTls }}
{{- if and .Values.cluster.linkPlaintext (or $link.secretName $link.certManager.enabled) }}
{{- fail "node links are either plain TCP (cluster.linkPlaintext) or mutual TLS (cluster.linkTls), not both" }}
{{- end }}
{{- if not (or .Values.cluster.linkPlaintext (include "roost.linkTlsSecretName" .)) }}
{{- fail "cluster mode needs secured node links, or anyone reaching a node's link port can read and change every mailbox: set cluster.linkTls.certManager.enabled (with an issuer of the cluster CA) or cluster.linkTls.secretName, or cluster.linkPlaintext: true where only Roost pods can reach the link port" }}
{{- end }}
{{- if and $link.certManager.enabled (not $link.certManager.issuerRef.name) }}
{{- fail "cluster.linkTls.certManager.enabled needs cluster.linkTls.certManager.issuerRef.name (an issuer of the cluster CA)" }}
{{- end }}
{{- if and $link.certManager.enabled (not .Values.autoscaling.enabled) (lt (int (include "roost.linkTlsNodes" .)) (int .Values.replicaCount)) }}
{{- fail "cluster.linkTls.certManager.maxReplicas is below replicaCount: the certificate would not name every node" }}
{{- end }}
{{- if and $link.certManager.enabled .Values.autoscaling.enabled (lt (int (include "roost.linkTlsNodes" .)) (int .Values.autoscaling.maxReplicas)) }}
{{- fail "cluster.linkTls.certManager.maxReplicas is below autoscaling.maxReplicas: the certificate would not name every node" }}
{{- end }}
{{- end }}
{{- end }}
